package io.hicmae.runtime.data;

import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * The authors' pre-training crop, {@code GroupMultiScaleCrop(size, [1, .875, .75, .66], max_distort=1,
 * fix_crop=True, more_fix_crop=True)}, applied alike to every frame of a clip: one crop window is drawn per clip,
 * cut out of each frame and resized to {@code size x size} with Pillow's {@code Image.BILINEAR} resampling.
 *
 * <p>Dimension letters: T frames, H and W the input frame height and width, S the output side.
 *
 * <p>Crop sides are {@code int(min(W, H) * scale)} per scale, each replaced by S when it differs from S by less than
 * 3 pixels (upstream's strict {@code < 3}). A width and a height form a candidate pair when their scale indices
 * differ by at most 1; one pair is drawn uniformly, then one of 13 grid offsets (steps {@code (W - w) // 4} and
 * {@code (H - h) // 4}) uniformly. Upstream draws with Python's {@code random}; here the draws come from the given
 * generator, so the distribution matches but not the sequence.
 *
 * <p>The resize reproduces Pillow's {@code ImagingResample} on 8-bit images: a separable triangle filter whose
 * support widens with the downscale factor (so a downscale averages every covered pixel, unlike textbook 4-tap
 * bilinear), pixel centres at half-pixel offsets, taps clipped to the image and renormalised, weights rounded to
 * 22-bit fixed point, the horizontal pass first and rounded to uint8, then the vertical pass. Immutable and
 * thread-safe; the filter tables of every candidate pair are built in the constructor.
 */
public final class MultiScaleCrop {

    /** Upstream's crop scales, as fractions of the input's short side. */
    private static final double[] SCALES = {1, .875, .75, .66};
    /** Upstream's {@code max_distort}: how many scale steps width and height may differ. */
    private static final int MAX_DISTORT = 1;
    /** Pillow's fixed-point precision for 8-bit images: 32 - 8 - 2 bits. */
    private static final int PRECISION_BITS = 22;

    /** A crop window in input pixels. */
    public record Window(int x, int y, int width, int height) {}

    private final int inputWidth;
    private final int inputHeight;
    private final int outputSize;
    private final List<int[]> pairs;
    private final Filter[] horizontal;
    private final Filter[] vertical;

    /**
     * @param inputWidth W of the stored frames
     * @param inputHeight H of the stored frames
     * @param outputSize S, the model's frame side
     */
    public MultiScaleCrop(int inputWidth, int inputHeight, int outputSize) {
        positive("inputWidth", inputWidth);
        positive("inputHeight", inputHeight);
        positive("outputSize", outputSize);
        this.inputWidth = inputWidth;
        this.inputHeight = inputHeight;
        this.outputSize = outputSize;
        int[] sides = cropSides(Math.min(inputWidth, inputHeight), outputSize);
        this.pairs = new ArrayList<>();
        for (int i = 0; i < sides.length; i++) { // i indexes the height, j the width, as upstream's loops
            for (int j = 0; j < sides.length; j++) {
                if (Math.abs(i - j) <= MAX_DISTORT) {
                    pairs.add(new int[] {sides[j], sides[i]});
                }
            }
        }
        this.horizontal = new Filter[pairs.size()];
        this.vertical = new Filter[pairs.size()];
        for (int p = 0; p < pairs.size(); p++) {
            horizontal[p] = new Filter(pairs.get(p)[0], outputSize);
            vertical[p] = new Filter(pairs.get(p)[1], outputSize);
        }
    }

    /**
     * Upstream's candidate crop sides: {@code int(base * scale)} per scale, snapped to {@code outputSize} when within
     * 3 pixels of it.
     */
    static int[] cropSides(int base, int outputSize) {
        int[] sides = new int[SCALES.length];
        for (int i = 0; i < SCALES.length; i++) {
            int s = (int) (base * SCALES[i]);
            sides[i] = Math.abs(s - outputSize) < 3 ? outputSize : s;
        }
        return sides;
    }

    /** The candidate (width, height) pairs in upstream's order; a fresh copy. */
    public List<int[]> candidatePairs() {
        List<int[]> copy = new ArrayList<>(pairs.size());
        for (int[] p : pairs) {
            copy.add(p.clone());
        }
        return copy;
    }

    /**
     * Upstream's {@code fill_fix_offset(more_fix_crop=True, ...)}: the 13 (x, y) offsets of a crop of
     * {@code cropWidth x cropHeight}, in upstream's order.
     */
    public static int[][] gridOffsets(int imageWidth, int imageHeight, int cropWidth, int cropHeight) {
        int w = (imageWidth - cropWidth) / 4;
        int h = (imageHeight - cropHeight) / 4;
        return new int[][] {
            {0, 0}, {4 * w, 0}, {0, 4 * h}, {4 * w, 4 * h}, {2 * w, 2 * h},
            {0, 2 * h}, {4 * w, 2 * h}, {2 * w, 4 * h}, {2 * w, 0},
            {w, h}, {3 * w, h}, {w, 3 * h}, {3 * w, 3 * h}
        };
    }

    /** Draws one crop window: a pair uniformly, then a grid offset uniformly (two draws from {@code rng}). */
    public Window sample(RandomGenerator rng) {
        int[] pair = pairs.get(rng.nextInt(pairs.size()));
        int[][] offsets = gridOffsets(inputWidth, inputHeight, pair[0], pair[1]);
        int[] offset = offsets[rng.nextInt(offsets.length)];
        return new Window(offset[0], offset[1], pair[0], pair[1]);
    }

    /** {@link #sample} then {@link #apply(byte[], int, Window)}. */
    public byte[] apply(byte[] frames, int t, RandomGenerator rng) {
        return apply(frames, t, sample(rng));
    }

    /**
     * Crops every frame to {@code window} and resizes it to S x S.
     *
     * @param frames (T, H, W, 3) uint8 RGB
     * @param t T
     * @param window one of the candidate pairs at any offset inside the frame
     * @return (T, S, S, 3) uint8 RGB
     */
    public byte[] apply(byte[] frames, int t, Window window) {
        int frameBytes = inputHeight * inputWidth * 3;
        if (frames.length != t * frameBytes) {
            throw new IllegalArgumentException("frames hold " + frames.length + " bytes, expected " + t + "x"
                    + inputHeight + "x" + inputWidth + "x3 = " + t * frameBytes);
        }
        int p = pairIndex(window);
        if (window.x() < 0 || window.y() < 0 || window.x() + window.width() > inputWidth
                || window.y() + window.height() > inputHeight) {
            throw new IllegalArgumentException(window + " does not fit in a " + inputWidth + "x" + inputHeight
                    + " frame");
        }
        Filter fx = horizontal[p];
        Filter fy = vertical[p];
        int rowsFirst = fy.first();
        int rows = fy.last() - rowsFirst; // input rows the vertical pass reads
        byte[] out = new byte[t * outputSize * outputSize * 3];
        byte[] temp = new byte[rows * outputSize * 3]; // (rows, S, 3) after the horizontal pass
        for (int f = 0; f < t; f++) {
            int src = f * frameBytes + (window.y() + rowsFirst) * inputWidth * 3 + window.x() * 3;
            byte[] horizontalOut;
            int hOffset;
            int hStride;
            if (window.width() == outputSize) { // Pillow skips a pass whose size does not change
                horizontalOut = frames;
                hOffset = src;
                hStride = inputWidth * 3;
            } else {
                for (int y = 0; y < rows; y++) {
                    resampleRow(frames, src + y * inputWidth * 3, fx, temp, y * outputSize * 3);
                }
                horizontalOut = temp;
                hOffset = 0;
                hStride = outputSize * 3;
            }
            int dst = f * outputSize * outputSize * 3;
            if (window.height() == outputSize) {
                for (int y = 0; y < outputSize; y++) {
                    System.arraycopy(horizontalOut, hOffset + y * hStride, out, dst + y * outputSize * 3,
                            outputSize * 3);
                }
            } else {
                resampleColumns(horizontalOut, hOffset - rowsFirst * hStride, hStride, fy, out, dst);
            }
        }
        return out;
    }

    /**
     * The resampling of one crop window as tap tables, for engines that resize a batch of clips at once
     * ({@link DeviceCrop}): output pixel i of a pass is {@code clip8((2^21 + sum_k in[index[i K + k]] weight[i K + k])
     * >> 22)} over the K = {@link #maxTaps()} taps. A pass whose size does not change (Pillow skips it) is the
     * identity: tap 0 reads pixel {@code offset + i} with weight {@code 2^22}. Unused taps read the pass's first input
     * pixel with weight 0.
     *
     * @param columns (S K) input columns (absolute, in [0, W)) of the horizontal pass
     * @param columnWeights (S K) fixed-point weights of the horizontal pass
     * @param rows (S K) input rows (absolute, in [0, H)) of the vertical pass
     * @param rowWeights (S K) fixed-point weights of the vertical pass
     */
    public record Taps(int[] columns, int[] columnWeights, int[] rows, int[] rowWeights) {}

    /** K: the most input pixels any output pixel of any candidate pair reads in one pass. */
    public int maxTaps() {
        int k = 1;
        for (int p = 0; p < pairs.size(); p++) {
            k = Math.max(k, Math.max(horizontal[p].ksize, vertical[p].ksize));
        }
        return k;
    }

    /** Fixed-point precision of the weights of {@link #taps}: 22 bits, Pillow's for 8-bit images. */
    public static int precisionBits() {
        return PRECISION_BITS;
    }

    /** S. */
    public int outputSize() {
        return outputSize;
    }

    /** The tap tables of {@code window} (one of the candidate pairs at any offset inside the frame). */
    public Taps taps(Window window) {
        int p = pairIndex(window);
        if (window.x() < 0 || window.y() < 0 || window.x() + window.width() > inputWidth
                || window.y() + window.height() > inputHeight) {
            throw new IllegalArgumentException(window + " does not fit in a " + inputWidth + "x" + inputHeight
                    + " frame");
        }
        int k = maxTaps();
        int[] columns = new int[outputSize * k];
        int[] columnWeights = new int[outputSize * k];
        int[] rows = new int[outputSize * k];
        int[] rowWeights = new int[outputSize * k];
        fillTaps(window.width() == outputSize ? null : horizontal[p], window.x(), k, columns, columnWeights);
        fillTaps(window.height() == outputSize ? null : vertical[p], window.y(), k, rows, rowWeights);
        return new Taps(columns, columnWeights, rows, rowWeights);
    }

    /** One pass's taps from {@code f}, or the identity when {@code f} is null; offsets shift by the window's. */
    private void fillTaps(Filter f, int offset, int k, int[] index, int[] weight) {
        for (int i = 0; i < outputSize; i++) {
            int first = f == null ? i : f.bounds[2 * i];
            int taps = f == null ? 1 : f.bounds[2 * i + 1];
            for (int t = 0; t < k; t++) {
                boolean used = t < taps;
                index[i * k + t] = offset + (used ? first + t : first);
                weight[i * k + t] = !used ? 0 : f == null ? 1 << PRECISION_BITS : f.weights[i * f.ksize + t];
            }
        }
    }

    private int pairIndex(Window window) {
        for (int p = 0; p < pairs.size(); p++) {
            if (pairs.get(p)[0] == window.width() && pairs.get(p)[1] == window.height()) {
                return p;
            }
        }
        throw new IllegalArgumentException(window + " is not one of the candidate crop sizes of a " + inputWidth
                + "x" + inputHeight + " frame");
    }

    /** One output row of S RGB pixels from one input row (crop-relative pixel 0 at {@code src}). */
    private static void resampleRow(byte[] in, int src, Filter f, byte[] out, int dst) {
        for (int x = 0; x < f.size; x++) {
            int start = src + f.bounds[2 * x] * 3;
            int taps = f.bounds[2 * x + 1];
            int k = x * f.ksize;
            int r = 1 << (PRECISION_BITS - 1);
            int g = r;
            int b = r;
            for (int i = 0; i < taps; i++) {
                int w = f.weights[k + i];
                int o = start + i * 3;
                r += (in[o] & 0xff) * w;
                g += (in[o + 1] & 0xff) * w;
                b += (in[o + 2] & 0xff) * w;
            }
            out[dst + x * 3] = clip8(r);
            out[dst + x * 3 + 1] = clip8(g);
            out[dst + x * 3 + 2] = clip8(b);
        }
    }

    /** The vertical pass: S output rows, each a weighted sum of input rows (row 0 of the crop at {@code base}). */
    private void resampleColumns(byte[] in, int base, int stride, Filter f, byte[] out, int dst) {
        int width = outputSize * 3;
        for (int y = 0; y < f.size; y++) {
            int first = f.bounds[2 * y];
            int taps = f.bounds[2 * y + 1];
            int k = y * f.ksize;
            for (int c = 0; c < width; c++) {
                int s = 1 << (PRECISION_BITS - 1);
                for (int i = 0; i < taps; i++) {
                    s += (in[base + (first + i) * stride + c] & 0xff) * f.weights[k + i];
                }
                out[dst + y * width + c] = clip8(s);
            }
        }
    }

    private static byte clip8(int v) {
        int s = v >> PRECISION_BITS;
        return (byte) (s < 0 ? 0 : Math.min(s, 255));
    }

    /**
     * Pillow's {@code precompute_coeffs} for the bilinear (triangle) filter, support 1, then
     * {@code normalize_coeffs_8bpc}: for output pixel i, {@code bounds[2i]} is the first input pixel and
     * {@code bounds[2i + 1]} the tap count; weights are fixed-point with 22 fractional bits.
     */
    private static final class Filter {
        final int size;
        final int ksize;
        final int[] bounds;
        final int[] weights;

        Filter(int inSize, int outSize) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filterScale; // bilinear support 1.0 times the scale
            this.size = outSize;
            this.ksize = (int) Math.ceil(support) * 2 + 1;
            this.bounds = new int[2 * outSize];
            this.weights = new int[outSize * ksize];
            double ss = 1.0 / filterScale;
            double[] k = new double[ksize];
            for (int xx = 0; xx < outSize; xx++) {
                double center = (xx + 0.5) * scale;
                int xmin = Math.max((int) (center - support + 0.5), 0);
                int xmax = Math.min((int) (center + support + 0.5), inSize) - xmin;
                double ww = 0;
                for (int x = 0; x < xmax; x++) {
                    double w = triangle((x + xmin - center + 0.5) * ss);
                    k[x] = w;
                    ww += w;
                }
                for (int x = 0; x < xmax; x++) {
                    double w = ww != 0 ? k[x] / ww : k[x];
                    weights[xx * ksize + x] = (int) (w < 0 ? -0.5 + w * (1 << PRECISION_BITS)
                            : 0.5 + w * (1 << PRECISION_BITS));
                }
                bounds[2 * xx] = xmin;
                bounds[2 * xx + 1] = xmax;
            }
        }

        /** First input pixel any output pixel reads. */
        int first() {
            return bounds[0];
        }

        /** One past the last input pixel any output pixel reads. */
        int last() {
            return bounds[2 * size - 2] + bounds[2 * size - 1];
        }

        private static double triangle(double x) {
            x = Math.abs(x);
            return x < 1 ? 1 - x : 0;
        }
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException("Invalid value " + value + " for " + name + ": must be at least 1");
        }
    }
}
