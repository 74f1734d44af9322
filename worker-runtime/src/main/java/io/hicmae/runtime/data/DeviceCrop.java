package io.hicmae.runtime.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * {@link MultiScaleCrop} as batched engine operations: every clip of a batch cut to its own window and resized to
 * S x S on the arrays' device, byte for byte what {@link MultiScaleCrop#apply(byte[], int, MultiScaleCrop.Window)}
 * gives. Each pass gathers its K taps per output pixel (one gather per tap, the clips' tables side by side), sums
 * uint8 x 22-bit fixed-point weights in int32 (exact: at most 255 x (2^22 + K) + 2^21 < 2^31) and rounds as Pillow
 * does, {@code (2^21 + sum) >> 22} clipped to [0, 255]; a pass every clip of the batch skips (its window side is
 * already S, offset 0) is not run.
 *
 * <p>Dimension letters: B clips, T frames, H and W the stored frame height and width, S the output side, K taps.
 * Immutable and thread-safe.
 */
public final class DeviceCrop {

    private static final int ROUND = 1 << (MultiScaleCrop.precisionBits() - 1);
    private static final int ONE = 1 << MultiScaleCrop.precisionBits();

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
        this.crop = new MultiScaleCrop(width, height, side);
        this.width = width;
        this.height = height;
        this.side = side;
        this.taps = crop.maxTaps();
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
     * @return (B, T, S, S, 3) float32 holding the integer pixel values 0..255, owned by {@code manager}
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
            if (!horizontal && !vertical) {
                NDArray out = frames.toType(DataType.FLOAT32, true);
                out.attach(manager);
                return out;
            }
            int[][] tables = tables(windows);
            NDArray x = frames.toType(DataType.INT32, false);
            if (horizontal) {
                x = pass(scope, x, 3, tables[0], tables[1], new Shape(b, t, height, side, 3));
            }
            if (vertical) {
                x = pass(scope, x, 2, tables[2], tables[3], new Shape(b, t, side, side, 3));
            }
            NDArray out = x.toType(DataType.FLOAT32, false);
            out.attach(manager);
            return out;
        }
    }

    /** The batch's (B, S, K) index and weight tables: columns, column weights, rows, row weights. */
    private int[][] tables(MultiScaleCrop.Window[] windows) {
        int n = side * taps;
        int[][] out = new int[4][windows.length * n];
        for (int i = 0; i < windows.length; i++) {
            MultiScaleCrop.Taps k = crop.taps(windows[i]);
            System.arraycopy(k.columns(), 0, out[0], i * n, n);
            System.arraycopy(k.columnWeights(), 0, out[1], i * n, n);
            System.arraycopy(k.rows(), 0, out[2], i * n, n);
            System.arraycopy(k.rowWeights(), 0, out[3], i * n, n);
        }
        return out;
    }

    /**
     * One resampling pass along {@code axis} (3: columns, 2: rows) of an int32 (B, T, rows, columns, 3) array.
     *
     * @param outShape the pass's output shape: the axis becomes S
     * @return int32 pixel values 0..255
     */
    private NDArray pass(NDManager m, NDArray x, int axis, int[] index, int[] weight, Shape outShape) {
        long b = outShape.get(0);
        Shape table = axis == 3 ? new Shape(b, 1, 1, side, taps, 1) : new Shape(b, 1, side, 1, taps, 1);
        NDArray idx = m.create(toLong(index), table);
        NDArray w = m.create(weight, table);
        NDArray sum = null;
        for (int k = 0; k < taps; k++) {
            NDArray tapIndex = idx.get("..., " + k + ", :").broadcast(outShape);
            NDArray term = x.gather(tapIndex, axis).mul(w.get("..., " + k + ", :"));
            sum = sum == null ? term : sum.addi(term);
        }
        NDArray rounded = sum.addi(ROUND);
        return rounded.sub(rounded.mod(ONE)).div(ONE).clip(0, 255).toType(DataType.INT32, false);
    }

    private static long[] toLong(int[] a) {
        long[] out = new long[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i];
        }
        return out;
    }
}
