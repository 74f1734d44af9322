package io.hicmae.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

import java.util.function.Supplier;

/**
 * Records a forward pass and runs its backward pass on the calling thread. DJL's {@code GradientCollector} allows
 * one collector per JVM, so two ranks in one executor JVM (Spark local mode, or several task slots per executor)
 * would collide; PyTorch's grad mode is per thread, so this uses it directly. PyTorch engine only.
 */
public final class Autograd {

    private Autograd() {}

    /** Runs {@code forward} with gradient recording on for this thread, restoring the previous mode after. */
    public static <T> T record(Supplier<T> forward) {
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(true);
        try {
            return forward.get();
        } finally {
            JniUtils.setGradMode(previous);
        }
    }

    /**
     * Runs {@code work} with gradient recording off for this thread: parameter updates are in-place operations on
     * leaves, which PyTorch refuses while recording (and a new thread starts with recording on).
     */
    public static void untracked(Runnable work) {
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
        try {
            work.run();
        } finally {
            JniUtils.setGradMode(previous);
        }
    }

    /** Back-propagates a scalar loss into the {@code .grad} of every parameter that requires it. */
    public static void backward(NDArray loss) {
        NDArray ones = loss.onesLike();
        JniUtils.backward((PtNDArray) loss, (PtNDArray) ones, false, false);
        ones.close();
    }

    /** Clears a parameter's accumulated gradient (PyTorch adds each backward into {@code .grad}). */
    public static void zeroGradient(NDArray parameter) {
        JniUtils.zeroGrad((PtNDArray) parameter);
    }
}
