package io.hicmae.runtime.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * {@link MultiScaleCrop} as batched engine operations: every clip of a batch cut to its own window and resized to
 * S x S on the arrays' device, byte for byte what {@link MultiScaleCrop#apply(byte[], int, MultiScaleCrop.Window)}
 * gives.
 *
 * <p>Each pass (columns, then rows) is one batched fp32 matmul with a dense (S x W or S x H) matrix per clip built
 * from the window's taps, so the whole resize is two GEMMs instead of gathers over index arrays of the output's size
 * (which cost about 2 s per demo batch of 8 on the CPU). Exactness: Pillow sums uint8 x 22-bit fixed-point weights and
 * rounds {@code (2^21 + sum) >> 22}. Each weight is split as {@code w = 2048 hi + lo} with {@code 0 <= lo < 2048}, the
 * matrix holds both halves side by side, and every product and partial sum is an integer below 2^24 (at most K x 255 x
 * 2048 with K < 32 taps), so fp32 (and TF32) sums them exactly in any order. The rounding is then exact in fp32 too:
 * {@code floor((hi + floor((lo + 2^21) / 2048)) / 2048)}, clipped to [0, 255]. A pass every clip of the batch skips
 * (its window side is already S, offset 0) is not run.
 *
 * <p>Dimension letters: B clips, T frames, H and W the stored frame height and width, S the output side, K taps.
 * Immutable and thread-safe.
 */
public final class DeviceCrop {

    /** Weights split at 2^11: {@code w = SPLIT hi + lo}. */
    private static final int SPLIT = 1 << 11;
    private static final float INV_SPLIT = 1f / SPLIT;
    private static final float ROUND = 1 << (MultiScaleCrop.precisionBits() - 1);

    private final MultiScaleCrop crop;
    private final int width;
    private final int height;
    private final int side;
    private final int taps;

    /**
     * @param width W of the stored frames
     * @param height H of the stored frames
     * @param side S, the model's frame side
     */
    public DeviceCrop(int width, int height, int side) {
        if (MultiScaleCrop.precisionBits() != 22) {
            throw new IllegalStateException("the split of the weights assumes 22-bit fixed point");
        }
        this.crop = new MultiScaleCrop(width, height, side);
        this.width = width;
        this.height = height;
        this.side = side;
        this.taps = crop.maxTaps();
        if (taps >= 32) {
            throw new IllegalArgumentException("resizing " + width + "x" + height + " to " + side + " reads up to "
                    + taps + " pixels per output pixel; the exact fp32 sums allow at most 31");
        }
    }

    /** The host-side crop whose windows this resizes (to draw windows with). */
    public MultiScaleCrop crop() {
        return crop;
    }

    /** True when {@code w} is the whole frame and the frame is already S x S: nothing to resample. */
    public boolean isIdentity(MultiScaleCrop.Window w) {
        return w.x() == 0 && w.y() == 0 && w.width() == width && w.height() == height && width == side
                && height == side;
    }

    /**
     * Crops and resizes every clip.
     *
     * @param frames (B, T, H, W, 3) uint8
     * @param windows B windows, one of the candidate pairs each
     * @return (B, T, S, S, 3) float32 holding the integer pixel values 0..255, owned by {@code manager} (possibly a
     *     strided view: the engine lays it out as (B, T, S, 3, S))
     */
    public NDArray apply(NDManager manager, NDArray frames, MultiScaleCrop.Window[] windows) {
        Shape s = frames.getShape();
        int b = windows.length;
        if (s.dimension() != 5 || s.get(0) != b || s.get(2) != height || s.get(3) != width || s.get(4) != 3
                || frames.getDataType() != DataType.UINT8) {
            throw new IllegalArgumentException("frames must be (" + b + ", T, " + height + ", " + width
                    + ", 3) uint8, got " + s + " " + frames.getDataType());
        }
        long t = s.get(1);
        boolean horizontal = false;
        boolean vertical = false;
        for (MultiScaleCrop.Window w : windows) {
            horizontal |= w.x() != 0 || w.width() != width || width != side;
            vertical |= w.y() != 0 || w.height() != height || height != side;
        }
        try (NDManager scope = manager.newSubManager(frames.getDevice())) {
            frames.tempAttach(scope);
            NDArray x = frames.toType(DataType.FLOAT32, false).transpose(0, 1, 2, 4, 3); // (B, T, H, 3, W)
            if (horizontal) {
                MultiScaleCrop.Taps[] k = taps(windows);
                // (B, T H 3, W) x (B, W, 2S) -> (B, T H 3, 2S): hi and lo sums side by side
                NDArray sums = x.reshape(b, t * height * 3, width).matMul(scope.create(
                        matrices(k, true, width), new Shape(b, width, 2L * side)));
                x = round(sums.get(":, :, :" + side), sums.get(":, :, " + side + ":"))
                        .reshape(b, t, height, 3, side);
            }
            if (vertical) {
                MultiScaleCrop.Taps[] k = taps(windows);
                // (B, 1, 2S, H) x (B, T, H, 3 S) -> (B, T, 2S, 3 S)
                NDArray sums = scope.create(matrices(k, false, height), new Shape(b, 1, 2L * side, height))
                        .matMul(x.reshape(b, t, height, 3L * side));
                x = round(sums.get(":, :, :" + side), sums.get(":, :, " + side + ":")).reshape(b, t, side, 3, side);
            }
            NDArray out = x.transpose(0, 1, 2, 4, 3);
            out.attach(manager);
            return out;
        }
    }

    private MultiScaleCrop.Taps[] taps(MultiScaleCrop.Window[] windows) {
        MultiScaleCrop.Taps[] out = new MultiScaleCrop.Taps[windows.length];
        for (int i = 0; i < windows.length; i++) {
            out[i] = crop.taps(windows[i]);
        }
        return out;
    }

    /**
     * The clips' dense pass matrices, hi then lo halves: columns (B, W, 2S), entry [w][s] (and [w][S + s]) the
     * weight of input column w in output column s; rows (B, 2S, H), entry [s][h] (and [S + s][h]).
     */
    private float[] matrices(MultiScaleCrop.Taps[] k, boolean columns, int inputs) {
        int b = k.length;
        int per = 2 * side * inputs;
        float[] out = new float[b * per];
        for (int i = 0; i < b; i++) {
            int[] index = columns ? k[i].columns() : k[i].rows();
            int[] weight = columns ? k[i].columnWeights() : k[i].rowWeights();
            for (int o = 0; o < side; o++) {
                for (int j = 0; j < taps; j++) {
                    int w = weight[o * taps + j];
                    if (w == 0) {
                        continue;
                    }
                    int hi = Math.floorDiv(w, SPLIT);
                    int lo = w - hi * SPLIT;
                    int in = index[o * taps + j];
                    int hiAt = columns ? in * 2 * side + o : o * inputs + in;
                    int loAt = columns ? hiAt + side : hiAt + side * inputs;
                    out[i * per + hiAt] += hi;
                    out[i * per + loAt] += lo;
                }
            }
        }
        return out;
    }

    /** Pillow's {@code clip8((2^21 + 2048 hi + lo) >> 22)} from the exact fp32 sums hi and lo. */
    private static NDArray round(NDArray hi, NDArray lo) {
        NDArray carry = lo.add(ROUND).muli(INV_SPLIT).floor();
        return hi.add(carry).muli(INV_SPLIT).floor().clip(0, 255);
    }
}
