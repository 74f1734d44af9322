package io.hicmae.runtime.finetune;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * The confusion matrix as a PNG: one cell per (true, predicted) pair, shaded by the row's fraction (so the diagonal
 * reads as per-class recall), with the count written in it; true classes down the left, predicted across the top.
 */
public final class ConfusionMatrixImage {

    private static final int CELL = 56;

    private ConfusionMatrixImage() {}

    /** PNG bytes of a Q x Q matrix (rows true class) with the Q class names. */
    public static byte[] png(long[][] confusion, List<String> names) {
        int q = names.size();
        if (confusion.length != q) {
            throw new IllegalArgumentException(confusion.length + " matrix rows for " + q + " class names " + names);
        }
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D pg = probe.createGraphics();
        FontMetrics fm = pg.getFontMetrics(font);
        int label = 0;
        for (String n : names) {
            label = Math.max(label, fm.stringWidth(n));
        }
        pg.dispose();
        int margin = label + 16;
        int size = margin + q * CELL + 8;
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, size, size);
            g.setFont(font);
            for (int i = 0; i < q; i++) {
                if (confusion[i].length != q) {
                    throw new IllegalArgumentException("matrix row " + i + " has " + confusion[i].length
                            + " columns, expected " + q);
                }
                long total = 0;
                for (long c : confusion[i]) {
                    total += c;
                }
                for (int j = 0; j < q; j++) {
                    float share = total == 0 ? 0f : (float) confusion[i][j] / total;
                    g.setColor(new Color(1f - 0.8f * share, 1f - 0.55f * share, 1f - 0.2f * share));
                    int x = margin + j * CELL;
                    int y = margin + i * CELL;
                    g.fillRect(x, y, CELL, CELL);
                    g.setColor(Color.GRAY);
                    g.drawRect(x, y, CELL, CELL);
                    g.setColor(share > 0.6f ? Color.WHITE : Color.BLACK);
                    String count = Long.toString(confusion[i][j]);
                    g.drawString(count, x + (CELL - fm.stringWidth(count)) / 2, y + CELL / 2 + fm.getAscent() / 2);
                }
                g.setColor(Color.BLACK);
                g.drawString(names.get(i), 8, margin + i * CELL + CELL / 2 + fm.getAscent() / 2);
                Graphics2D v = (Graphics2D) g.create();
                v.rotate(-Math.PI / 2);
                v.drawString(names.get(i), -margin + 8, margin + i * CELL + CELL / 2 + fm.getAscent() / 2);
                v.dispose();
            }
        } finally {
            g.dispose();
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            ImageIO.write(img, "png", out);
        } catch (IOException e) {
            throw new UncheckedIOException("PNG encoding in memory failed", e);
        }
        return out.toByteArray();
    }
}
