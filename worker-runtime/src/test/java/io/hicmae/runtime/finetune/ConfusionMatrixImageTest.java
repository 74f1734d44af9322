package io.hicmae.runtime.finetune;

import org.junit.jupiter.api.Test;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfusionMatrixImageTest {

    @Test
    void drawsAShadedSquareImageWithADarkerDiagonal() throws Exception {
        long[][] m = {{9, 1}, {0, 5}};

        BufferedImage img = ImageIO.read(new ByteArrayInputStream(
                ConfusionMatrixImage.png(m, List.of("neutral", "happy"))));

        assertEquals(img.getWidth(), img.getHeight());
        // Cell corners, clear of the text: (0, 0) holds 90% of its row, (0, 1) 10%.
        int margin = img.getWidth() - 2 * 56 - 8;
        int diagonal = img.getRGB(margin + 3, margin + 3);
        int offDiagonal = img.getRGB(margin + 56 + 3, margin + 3);
        assertNotEquals(diagonal, offDiagonal);
        assertTrue((diagonal & 0xff0000) < (offDiagonal & 0xff0000), "the larger share is darker");
    }
}
