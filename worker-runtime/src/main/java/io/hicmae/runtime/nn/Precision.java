package io.hicmae.runtime.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.util.Locale;
import java.util.function.Supplier;

/**
 * The compute precision of a forward pass, per thread: in {@link #FP16} the matmuls, convolutions and attention
 * products run in half precision (their inputs cast down, their outputs cast back), while softmax, LayerNorm,
 * losses, parameters and gradients stay fp32; PyTorch's autocast policy for these ops, applied where the model calls
 * them ({@link Linear}, {@link PatchEmbed}, {@link Attend}). The casts are recorded by autograd (a copy into an fp16
 * array down, type promotion up), so the fp32 master parameters get fp32 gradients. bf16 is never used: DJL 0.36's PyTorch engine aborts the JVM on any bf16 array.
 */
public enum Precision {
    /** Everything in fp32 (the default, and the only mode on CPU that is fast). */
    FP32,
    /** Matmuls, convolutions and attention in fp16 (for CUDA; needs dynamic loss scaling). */
    FP16;

    private static final ThreadLocal<Precision> CURRENT = ThreadLocal.withInitial(() -> FP32);

    /** The precision of the forward pass running on this thread. */
    public static Precision current() {
        return CURRENT.get();
    }

    /** Runs {@code work} with this thread's precision set to {@code p}, restoring the previous one after. */
    public static <T> T with(Precision p, Supplier<T> work) {
        Precision previous = CURRENT.get();
        CURRENT.set(p);
        try {
            return work.get();
        } finally {
            CURRENT.set(previous);
        }
    }

    /**
     * Parses {@code fp32}, {@code fp16} or {@code auto} (fp16 on a GPU, fp32 elsewhere).
     *
     * @throws IllegalArgumentException naming the value otherwise
     */
    public static Precision parse(String value, Device device) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "fp32" -> FP32;
            case "fp16" -> FP16;
            case "auto" -> defaultFor(device);
            default -> throw new IllegalArgumentException(
                    "Invalid value " + value + " for configuration precision: must be fp32, fp16 or auto");
        };
    }

    /** fp16 on a GPU, fp32 elsewhere (CPUs here have no fast fp16 path). */
    public static Precision defaultFor(Device device) {
        return device != null && device.isGpu() ? FP16 : FP32;
    }

    /** The option value, {@code fp32} or {@code fp16}. */
    public String option() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** {@code x} in the compute type of this thread's precision (a no-op in fp32, and for null). */
    static NDArray compute(NDArray x) {
        return compute(x, x);
    }

    /**
     * {@code x} in the compute type of this thread's precision, a cast owned by {@code step}'s manager (so the fp16
     * copy of a parameter is freed with the step, not kept by the parameter's manager).
     */
    static NDArray compute(NDArray x, NDArray step) {
        if (x == null || current() == FP32 || x.getDataType() == DataType.FLOAT16) {
            return x;
        }
        // DJL's toType detaches from the autograd graph; an in-place copy into an fp16 array is recorded (CopySlices),
        // so the fp32 source still gets its gradient.
        NDArray half = step.getManager().create(x.getShape(), DataType.FLOAT16, x.getDevice());
        half.set(ALL, x);
        return half;
    }

    /**
     * {@code x} back in fp32 (a no-op when it is fp32 already): adding a one-element fp32 zero promotes the result
     * to fp32 and, unlike DJL's toType, keeps the autograd graph.
     */
    static NDArray full(NDArray x) {
        if (x.getDataType() == DataType.FLOAT32) {
            return x;
        }
        NDArray zero = x.getManager().zeros(new Shape(1), DataType.FLOAT32, x.getDevice());
        return x.add(zero);
    }

    private static final NDIndex ALL = new NDIndex("...");
}
