package io.hicmae.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;

class ModelCardTest {
    @Test
    void readmeShowsLineageLossesAndConfigTables() {
        PublishRequest r = Fixtures.request("hicmae-base", "run-9");
        VersionMetadata md = VersionMetadata.builder()
                .setRunId("run-9")
                .setDataset(java.net.URI.create("s3a://b/data"), Fixtures.DATASET_DIGEST)
                .setJobConfig(r.metadata().jobConfig())
                .setSteps(300)
                .setFinalLosses(r.metadata().finalLosses())
                .setCodeVersion("0123abc")
                .optParentVersion("hicmae-base:2")
                .build()
                .withCreatedAt(Instant.parse("2025-01-02T03:04:05Z"));

        String readme = ModelCard.readme("hicmae-base", "v000003", md, r.configJson(), r.metrics());

        assertTrue(readme.startsWith("# hicmae-base v000003\n\nPublished 2025-01-02T03:04:05Z by training run `run-9`"
                + " after 300 steps."), readme);
        assertTrue(readme.contains("| Parent version | hicmae-base:v000002 |"), readme);
        assertTrue(readme.contains("| recon_loss | 0.200000 |"), readme);
        assertTrue(readme.contains("| embed_dim | 64 |"), readme);
        assertTrue(readme.contains("| optimizer.lr | 1.5E-4 |"), readme);
        assertTrue(readme.contains("![Loss curve](loss-curve.png)"), readme);
        assertFalse(ModelCard.readme("m", "v000001", md, "{}", List.of()).contains("loss-curve.png"));
    }

    @Test
    void lossCurveIsAPngOfTheStatedSize() throws IOException {
        byte[] png = ModelCard.lossCurvePng("m v000001", Fixtures.request("m", "r").metrics());

        BufferedImage image = ImageIO.read(new ByteArrayInputStream(png));
        assertEquals(900, image.getWidth());
        assertEquals(760, image.getHeight());
    }
}
