package io.hicmae.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The trained parameters' gradients as one contiguous direct float buffer, in parameter order: what the ranks
 * all-reduce between the backward pass and the optimiser step. Shared by the pre-training and fine-tuning trainers.
 */
public final class GradientBuffer {

    private final List<Parameter> parameters;
    private final long size;
    private final long[] offsets;
    private final ByteBuffer bytes;
    private final FloatBuffer buffer;

    public GradientBuffer(List<Parameter> parameters) {
        this.parameters = List.copyOf(parameters);
        long n = 0;
        for (Parameter p : parameters) {
            n += p.getShape().size();
        }
        if (n * Float.BYTES > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("model too large for one gradient buffer: " + n + " parameters");
        }
        this.size = n;
        this.offsets = new long[parameters.size() + 1];
        for (int k = 0; k < parameters.size(); k++) {
            offsets[k + 1] = offsets[k] + parameters.get(k).getShape().size();
        }
        this.bytes = ByteBuffer.allocateDirect(Math.toIntExact(n * Float.BYTES)).order(ByteOrder.nativeOrder());
        this.buffer = bytes.asFloatBuffer();
    }

    /** Copies every parameter's accumulated gradient into the buffer, then clears the gradients for the next step. */
    public void collect(NDManager stepManager) {
        collect(stepManager, 0, parameters.size());
    }

    /**
     * {@link #collect(NDManager)} for parameters {@code [from, to)} only (their floats
     * {@code [offset(from), offset(to))}); the rest of the buffer is not touched.
     */
    public void collect(NDManager stepManager, int from, int to) {
        for (int k = from; k < to; k++) {
            Parameter p = parameters.get(k);
            NDArray g = p.getArray().getGradient();
            g.attach(stepManager);
            // A contiguous CPU gradient's bytes are read in place: one copy, straight into the buffer.
            FloatBuffer src = g.toByteBuffer().order(ByteOrder.nativeOrder()).asFloatBuffer();
            buffer.put(Math.toIntExact(offsets[k]), src, 0, src.remaining());
            Autograd.zeroGradient(p.getArray());
        }
    }

    /** The float offset of parameter {@code k} in the buffer ({@code k == } the count: the buffer's size). */
    public long offset(int k) {
        return offsets[k];
    }

    /** The buffer: {@link #size()} floats in parameter order. */
    public FloatBuffer buffer() {
        return buffer;
    }

    /**
     * The buffer's bytes in native order (little-endian on x86-64 and aarch64, the ring's wire order): the
     * all-reduce sends from and receives into them without a copy.
     */
    public ByteBuffer bytes() {
        return bytes.duplicate().clear().order(ByteOrder.nativeOrder());
    }

    /** Scalars in the buffer. */
    public long size() {
        return size;
    }

    /**
     * L2 norm of the buffer, accumulated in double: NaN or infinite exactly when some element is (the squares of
     * finite floats cannot overflow a double sum), so it is also the finite check.
     */
    public double norm() {
        double[] lanes = new double[NORM_LANES];
        addSquares(lanes, 0, buffer.limit());
        return norm(lanes);
    }

    /** Partial sums of the norm: element {@code i} of a range starting at a multiple of 4 goes to lane {@code i % 4}. */
    static final int NORM_LANES = 4;

    /**
     * Adds the squares of elements {@code [from, to)} to the lane sums {@code lanes}: called on consecutive ranges
     * whose starts are multiples of {@value #NORM_LANES}, in order, it sums exactly as one {@link #norm()} pass does,
     * so a bucketed all-reduce can compute the same norm bucket by bucket.
     */
    void addSquares(double[] lanes, int from, int to) {
        if (from % NORM_LANES != 0 || from > to || to > buffer.limit()) {
            throw new IllegalArgumentException("norm range [" + from + ", " + to + ") of a buffer of " + size
                    + ": must start at a multiple of " + NORM_LANES);
        }
        // Four independent sums let the CPU overlap the adds (one sum is bound by the add latency).
        double s0 = lanes[0];
        double s1 = lanes[1];
        double s2 = lanes[2];
        double s3 = lanes[3];
        int i = from;
        for (; i + 3 < to; i += 4) {
            double a = buffer.get(i);
            double b = buffer.get(i + 1);
            double c = buffer.get(i + 2);
            double d = buffer.get(i + 3);
            s0 += a * a;
            s1 += b * b;
            s2 += c * c;
            s3 += d * d;
        }
        for (; i < to; i++) {
            double g = buffer.get(i);
            s0 += g * g;
        }
        lanes[0] = s0;
        lanes[1] = s1;
        lanes[2] = s2;
        lanes[3] = s3;
    }

    /** The norm of the lane sums of every element (see {@link #addSquares}). */
    static double norm(double[] lanes) {
        return Math.sqrt((lanes[0] + lanes[1]) + (lanes[2] + lanes[3]));
    }

    /** The index of the first element that is NaN or infinite, or -1 when all are finite. */
    public long firstNonFinite() {
        for (int i = 0; i < buffer.limit(); i++) {
            if (!Float.isFinite(buffer.get(i))) {
                return i;
            }
        }
        return -1;
    }

    /** Which parameter (index into the constructor's list) holds element {@code index} of the buffer. */
    public int parameterAt(long index) {
        long offset = 0;
        for (int k = 0; k < parameters.size(); k++) {
            offset += parameters.get(k).getShape().size();
            if (index < offset) {
                return k;
            }
        }
        throw new IndexOutOfBoundsException("element " + index + " of a buffer of " + size);
    }

    /**
     * The buffer as one array per parameter, owned by {@code stepManager}, each element multiplied by
     * {@code multiplier} first unless it is 1 (the fp16 unscale and the clip factor).
     */
    public List<NDArray> perParameter(NDManager stepManager, double multiplier) {
        // Over the buffer's own memory (no copy); the buffer is not written again before the next collect.
        NDArray flat = stepManager.create(bytes.duplicate().order(ByteOrder.nativeOrder()), new Shape(size),
                ai.djl.ndarray.types.DataType.FLOAT32); // (P)
        if (multiplier != 1) {
            flat = flat.mul(multiplier);
        }
        List<NDArray> out = new ArrayList<>(parameters.size());
        long offset = 0;
        for (Parameter p : parameters) {
            long n = p.getShape().size();
            out.add(flat.get(new NDIndex("{}:{}", offset, offset + n)).reshape(p.getShape()));
            offset += n;
        }
        return out;
    }
}
