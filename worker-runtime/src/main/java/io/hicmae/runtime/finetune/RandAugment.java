package io.hicmae.runtime.finetune;

import java.util.random.RandomGenerator;

/**
 * A documented subset of upstream's RandAugment {@code rand-m7-n4-mstd0.5-inc1} (timm's {@code RandAugment} as
 * VideoMAE's video copy applies it): n = 4 operations drawn uniformly with replacement, each applied with probability
 * 0.5 at magnitude ~ N(7, 0.5) clipped to [0, 10], with the same draws for every frame of a clip; image statistics
 * (histograms, mean grey) are per frame, as PIL computes them per image.
 *
 * <p>Done here: the 10 photometric operations of timm's increasing set, after PIL's formulas: AutoContrast, Equalize,
 * Invert, PosterizeIncreasing (keep 4 - int(4 m / 10) bits), SolarizeIncreasing (invert pixels at or above 256 -
 * int(256 m / 10)), SolarizeAdd (add int(110 m / 10) below 128), and Color, Contrast, Brightness, Sharpness
 * (blend with a degenerate image by factor 1 +- 0.9 m / 10). Left out: the 5 geometric operations (Rotate, ShearX,
 * ShearY, TranslateXRel, TranslateYRel); the random resized crop that follows still varies geometry. With 10 of 15
 * operations each drawn operation is photometric, so a clip gets more colour change than upstream's.
 */
public final class RandAugment {

    private static final double MAX_LEVEL = 10;

    private enum Op {
        AUTO_CONTRAST, EQUALIZE, INVERT, POSTERIZE, SOLARIZE, SOLARIZE_ADD, COLOR, CONTRAST, BRIGHTNESS, SHARPNESS
    }

    private final double magnitude;
    private final int ops;
    private final double magnitudeStd;
    private final double prob;

    /** Upstream's {@code rand-m7-n4-mstd0.5-inc1}. */
    public static RandAugment upstream() {
        return new RandAugment(7, 4, 0.5, 0.5);
    }

    RandAugment(double magnitude, int ops, double magnitudeStd, double prob) {
        this.magnitude = magnitude;
        this.ops = ops;
        this.magnitudeStd = magnitudeStd;
        this.prob = prob;
    }

    /** Augments frames (T, H, W, 3) uint8 in place. */
    public void apply(byte[] rgb, int frames, int height, int width, RandomGenerator rng) {
        Op[] all = Op.values();
        for (int k = 0; k < ops; k++) {
            Op op = all[rng.nextInt(all.length)];
            if (rng.nextDouble() > prob) {
                continue;
            }
            double m = Math.min(MAX_LEVEL, Math.max(0, magnitude + magnitudeStd * rng.nextGaussian()));
            double factor = 1 + (rng.nextDouble() > 0.5 ? -1 : 1) * m / MAX_LEVEL * 0.9; // the enhance ops' argument
            int plane = height * width * 3;
            for (int f = 0; f < frames; f++) {
                apply(op, m, factor, rgb, f * plane, height, width);
            }
        }
    }

    private static void apply(Op op, double m, double factor, byte[] px, int off, int h, int w) {
        int n = h * w * 3;
        switch (op) {
            case AUTO_CONTRAST -> perChannelLut(px, off, n, RandAugment::autoContrastLut);
            case EQUALIZE -> perChannelLut(px, off, n, RandAugment::equalizeLut);
            case INVERT -> lut(px, off, n, i -> 255 - i);
            case POSTERIZE -> {
                int bits = 4 - (int) (m / MAX_LEVEL * 4);
                int mask = ~((1 << (8 - bits)) - 1) & 0xff;
                lut(px, off, n, i -> i & mask);
            }
            case SOLARIZE -> {
                int threshold = 256 - (int) (m / MAX_LEVEL * 256);
                lut(px, off, n, i -> i < threshold ? i : 255 - i);
            }
            case SOLARIZE_ADD -> {
                int add = (int) (m / MAX_LEVEL * 110);
                lut(px, off, n, i -> i < 128 ? Math.min(255, i + add) : i);
            }
            case COLOR -> {
                byte[] grey = new byte[n];
                for (int p = 0; p < n; p += 3) {
                    byte l = (byte) luma(px, off + p);
                    grey[p] = l;
                    grey[p + 1] = l;
                    grey[p + 2] = l;
                }
                blend(grey, px, off, n, factor);
            }
            case CONTRAST -> {
                long sum = 0;
                for (int p = 0; p < n; p += 3) {
                    sum += luma(px, off + p);
                }
                byte mean = (byte) (int) (sum / (double) (n / 3) + 0.5);
                byte[] degenerate = new byte[n];
                java.util.Arrays.fill(degenerate, mean);
                blend(degenerate, px, off, n, factor);
            }
            case BRIGHTNESS -> blend(new byte[n], px, off, n, factor);
            case SHARPNESS -> blend(smooth(px, off, h, w), px, off, n, factor);
        }
    }

    /** PIL's "L" conversion of the pixel at {@code i}: (299 R + 587 G + 114 B) / 1000 in 16-bit fixed point. */
    private static int luma(byte[] px, int i) {
        return ((px[i] & 0xff) * 19595 + (px[i + 1] & 0xff) * 38470 + (px[i + 2] & 0xff) * 7471 + 0x8000) >> 16;
    }

    /** PIL's {@code Image.blend(degenerate, image, factor)}, truncating and clipping to [0, 255]. */
    private static void blend(byte[] degenerate, byte[] px, int off, int n, double factor) {
        float a = (float) factor;
        for (int p = 0; p < n; p++) {
            int d = degenerate[p] & 0xff;
            float v = d + a * ((px[off + p] & 0xff) - d);
            px[off + p] = (byte) (v <= 0 ? 0 : v >= 255 ? 255 : (int) v);
        }
    }

    /** PIL's {@code ImageFilter.SMOOTH} (3 x 3 kernel 1 1 1 / 1 5 1 / 1 1 1, / 13); border pixels are copied. */
    private static byte[] smooth(byte[] px, int off, int h, int w) {
        byte[] out = java.util.Arrays.copyOfRange(px, off, off + h * w * 3);
        for (int y = 1; y < h - 1; y++) {
            for (int x = 1; x < w - 1; x++) {
                for (int c = 0; c < 3; c++) {
                    int s = 0;
                    for (int dy = -1; dy <= 1; dy++) {
                        for (int dx = -1; dx <= 1; dx++) {
                            s += (px[off + ((y + dy) * w + x + dx) * 3 + c] & 0xff) * (dx == 0 && dy == 0 ? 5 : 1);
                        }
                    }
                    out[(y * w + x) * 3 + c] = (byte) Math.min(255, (int) (s / 13.0 + 0.5));
                }
            }
        }
        return out;
    }

    private static void lut(byte[] px, int off, int n, java.util.function.IntUnaryOperator f) {
        int[] table = new int[256];
        for (int i = 0; i < 256; i++) {
            table[i] = f.applyAsInt(i);
        }
        for (int p = off; p < off + n; p++) {
            px[p] = (byte) table[px[p] & 0xff];
        }
    }

    private static void perChannelLut(byte[] px, int off, int n, java.util.function.Function<long[], int[]> lutOf) {
        for (int c = 0; c < 3; c++) {
            long[] histogram = new long[256];
            for (int p = off + c; p < off + n; p += 3) {
                histogram[px[p] & 0xff]++;
            }
            int[] table = lutOf.apply(histogram);
            for (int p = off + c; p < off + n; p += 3) {
                px[p] = (byte) table[px[p] & 0xff];
            }
        }
    }

    /** PIL's {@code ImageOps.autocontrast} without cutoff: stretch [lo, hi] to [0, 255]. */
    static int[] autoContrastLut(long[] h) {
        int lo = 0;
        while (lo < 256 && h[lo] == 0) {
            lo++;
        }
        int hi = 255;
        while (hi >= 0 && h[hi] == 0) {
            hi--;
        }
        int[] lut = new int[256];
        for (int i = 0; i < 256; i++) {
            if (hi <= lo) {
                lut[i] = i;
            } else {
                double scale = 255.0 / (hi - lo);
                lut[i] = Math.max(0, Math.min(255, (int) (i * scale - lo * scale)));
            }
        }
        return lut;
    }

    /** PIL's {@code ImageOps.equalize}. */
    static int[] equalizeLut(long[] h) {
        int[] lut = new int[256];
        long total = 0;
        long last = 0;
        int nonZero = 0;
        for (long c : h) {
            if (c > 0) {
                total += c;
                last = c;
                nonZero++;
            }
        }
        long step = nonZero <= 1 ? 0 : (total - last) / 255;
        long acc = step / 2;
        for (int i = 0; i < 256; i++) {
            lut[i] = step == 0 ? i : (int) Math.min(255, acc / step);
            acc += h[i];
        }
        return lut;
    }
}
