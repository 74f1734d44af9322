package io.hicmae.runtime.finetune;

import io.hicmae.runtime.data.ClipTensors;

import java.util.random.RandomGenerator;

/**
 * Upstream's fine-tuning video augmentation ({@code _aug_frame} in {@code kinetics_av.py}) for a stored clip, one
 * set of random parameters per clip, applied to every frame:
 * <ol>
 *   <li>{@link RandAugment} on the uint8 frames (a documented subset of {@code rand-m7-n4-mstd0.5-inc1});
 *   <li>/255 and ImageNet normalisation;
 *   <li>random resized crop: area fraction U(0.08, 1), aspect exp(U(ln 0.75, ln 1.3333)), 10 tries, else the centre
 *       crop (SlowFast's {@code _get_param_spatial_crop}), resized to S x S bilinearly as PyTorch's
 *       {@code interpolate(mode='bilinear', align_corners=False)} without antialiasing;
 *   <li>horizontal flip with probability 0.5;
 *   <li>random erasing with probability 0.25 on the normalised tensor, VideoMAE's {@code RandomErasing} as upstream
 *       configures it (mode 'pixel', one box, {@code cube=True}): area U(0.02, 1/3) of the frame, aspect
 *       exp(U(ln 0.3, ln 1/0.3)), up to 100 tries; the same box in every frame, filled with fresh N(0, 1) noise per
 *       frame and channel.
 * </ol>
 *
 * <p>Dimensions: T frames, H x W stored frame, S output side.
 */
public final class VideoAugment {

    static final double ERASE_PROB = 0.25;
    private static final double[] CROP_SCALE = {0.08, 1.0};
    private static final double[] CROP_RATIO = {0.75, 1.3333};

    private final int size;
    private final RandAugment randAugment;

    /** @param size output side S (the config's image size) */
    public VideoAugment(int size) {
        this(size, RandAugment.upstream());
    }

    VideoAugment(int size, RandAugment randAugment) {
        this.size = size;
        this.randAugment = randAugment;
    }

    /**
     * Frames (T, H, W, 3) uint8 (left unchanged) -> (3, T, S, S) normalised floats written into {@code out} at
     * {@code offset}.
     */
    public void apply(byte[] rgb, int frames, int height, int width, float[] out, int offset, RandomGenerator rng) {
        byte[] augmented = rgb.clone();
        randAugment.apply(augmented, frames, height, width, rng);
        float[] normalised = new float[3 * frames * height * width];
        ClipTensors.normalizeFrames(augmented, frames, height, width, normalised, 0); // (3, T, H, W)
        int[] box = cropBox(height, width, rng);
        for (int plane = 0; plane < 3 * frames; plane++) {
            resizeBilinear(normalised, plane * height * width, width, box, out, offset + plane * size * size, size);
        }
        if (rng.nextDouble() < 0.5) {
            flip(out, offset, 3 * frames, size);
        }
        erase(out, offset, frames, size, ERASE_PROB, rng);
    }

    /**
     * The evaluation view: frames (T, H, W, 3) uint8 -> (3, T, S, S) normalised floats at {@code offset}, the whole
     * frame resized to S x S with the same bilinear filter (no augmentation; a copy when H = W = S).
     */
    public void plain(byte[] rgb, int frames, int height, int width, float[] out, int offset) {
        if (height == size && width == size) {
            ClipTensors.normalizeFrames(rgb, frames, height, width, out, offset);
            return;
        }
        float[] normalised = new float[3 * frames * height * width];
        ClipTensors.normalizeFrames(rgb, frames, height, width, normalised, 0); // (3, T, H, W)
        int[] box = {0, 0, height, width};
        for (int plane = 0; plane < 3 * frames; plane++) {
            resizeBilinear(normalised, plane * height * width, width, box, out, offset + plane * size * size, size);
        }
    }

    /** The crop [top, left, height, width] of an H x W frame. */
    static int[] cropBox(int height, int width, RandomGenerator rng) {
        double area = (double) height * width;
        for (int attempt = 0; attempt < 10; attempt++) {
            double target = uniform(rng, CROP_SCALE[0], CROP_SCALE[1]) * area;
            double aspect = Math.exp(uniform(rng, Math.log(CROP_RATIO[0]), Math.log(CROP_RATIO[1])));
            int w = (int) Math.rint(Math.sqrt(target * aspect)); // Python's round: half to even
            int h = (int) Math.rint(Math.sqrt(target / aspect));
            if (w > 0 && w <= width && h > 0 && h <= height) {
                return new int[] {rng.nextInt(height - h + 1), rng.nextInt(width - w + 1), h, w};
            }
        }
        double in = (double) width / height;
        int w = width;
        int h = height;
        if (in < CROP_RATIO[0]) {
            h = (int) Math.rint(w / CROP_RATIO[0]);
        } else if (in > CROP_RATIO[1]) {
            w = (int) Math.rint(h * CROP_RATIO[1]);
        }
        return new int[] {(height - h) / 2, (width - w) / 2, h, w};
    }

    /**
     * Resizes the {@code box} [top, left, h, w] of one (H, W) plane with row length {@code width} to (S, S),
     * bilinear with half-pixel centres and edge clamping (PyTorch, {@code align_corners=False}).
     */
    static void resizeBilinear(float[] src, int srcOffset, int width, int[] box, float[] dst, int dstOffset, int s) {
        int top = box[0];
        int left = box[1];
        int h = box[2];
        int w = box[3];
        int[] x0 = new int[s];
        int[] x1 = new int[s];
        float[] lx = new float[s];
        source(w, s, x0, x1, lx);
        int[] y0 = new int[s];
        int[] y1 = new int[s];
        float[] ly = new float[s];
        source(h, s, y0, y1, ly);
        for (int oy = 0; oy < s; oy++) {
            int r0 = srcOffset + (top + y0[oy]) * width + left;
            int r1 = srcOffset + (top + y1[oy]) * width + left;
            for (int ox = 0; ox < s; ox++) {
                float a = src[r0 + x0[ox]] * (1 - lx[ox]) + src[r0 + x1[ox]] * lx[ox];
                float b = src[r1 + x0[ox]] * (1 - lx[ox]) + src[r1 + x1[ox]] * lx[ox];
                dst[dstOffset + oy * s + ox] = a * (1 - ly[oy]) + b * ly[oy];
            }
        }
    }

    /** Source indices and weights of each output position along one axis of length {@code in}. */
    private static void source(int in, int out, int[] i0, int[] i1, float[] lambda) {
        float scale = (float) in / out;
        for (int o = 0; o < out; o++) {
            float src = Math.max(0f, scale * (o + 0.5f) - 0.5f);
            i0[o] = Math.min((int) src, in - 1);
            i1[o] = i0[o] < in - 1 ? i0[o] + 1 : i0[o];
            lambda[o] = src - i0[o];
        }
    }

    /** Mirrors {@code planes} planes of S x S left to right. */
    static void flip(float[] x, int offset, int planes, int s) {
        for (int p = 0; p < planes; p++) {
            for (int row = 0; row < s; row++) {
                int base = offset + (p * s + row) * s;
                for (int i = 0, j = s - 1; i < j; i++, j--) {
                    float t = x[base + i];
                    x[base + i] = x[base + j];
                    x[base + j] = t;
                }
            }
        }
    }

    /**
     * With probability {@code p}, fills one box of every frame of (3, T, S, S) with N(0, 1) noise.
     *
     * @return the box [top, left, h, w], or null when nothing was erased
     */
    static int[] erase(float[] x, int offset, int frames, int s, double p, RandomGenerator rng) {
        if (rng.nextDouble() > p) {
            return null;
        }
        double area = (double) s * s;
        for (int attempt = 0; attempt < 100; attempt++) {
            double target = uniform(rng, 0.02, 1 / 3.0) * area;
            double aspect = Math.exp(uniform(rng, Math.log(0.3), Math.log(1 / 0.3)));
            int h = (int) Math.rint(Math.sqrt(target * aspect));
            int w = (int) Math.rint(Math.sqrt(target / aspect));
            if (w < s && h < s) {
                int top = rng.nextInt(s - h + 1);
                int left = rng.nextInt(s - w + 1);
                for (int t = 0; t < frames; t++) {
                    for (int c = 0; c < 3; c++) {
                        int plane = offset + (c * frames + t) * s * s;
                        for (int y = top; y < top + h; y++) {
                            for (int xx = left; xx < left + w; xx++) {
                                x[plane + y * s + xx] = (float) rng.nextGaussian();
                            }
                        }
                    }
                }
                return new int[] {top, left, h, w};
            }
        }
        return null;
    }

    private static double uniform(RandomGenerator rng, double lo, double hi) {
        return lo + (hi - lo) * rng.nextDouble();
    }
}
