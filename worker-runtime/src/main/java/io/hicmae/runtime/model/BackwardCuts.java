package io.hicmae.runtime.model;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Cuts in a recorded forward pass, so that its backward pass runs in stages from the loss down: the gradients of
 * everything above a cut are final before anything below it is back-propagated. That lets the all-reduce start on
 * the last layers while the first are still in the backward pass, which PyTorch's DDP does with per-parameter hooks
 * that DJL does not expose.
 *
 * <p>At each cut the forward pass continues from a detached copy of the tensor that requires a gradient (a leaf).
 * Stage 0 back-propagates the loss into every parameter above all cuts and into the leaves; stage {@code s >= 1}
 * back-propagates the gradient of cut {@code count - s} (the last recorded first) from the tensor it was cut from,
 * which adds into the leaves of earlier cuts. Every gradient is the same sum as in one backward pass, added in
 * another order (equal within float rounding). PyTorch engine only; one forward pass per instance.
 */
public final class BackwardCuts {

    private static final BackwardCuts NONE = new BackwardCuts(false);

    private final boolean recording;
    private final List<NDArray> cutFrom = new ArrayList<>();
    private final List<NDArray> leaves = new ArrayList<>();

    private BackwardCuts(boolean recording) {
        this.recording = recording;
    }

    /** No cuts: {@link #cut} returns its input, and the backward pass is one call. */
    public static BackwardCuts none() {
        return NONE;
    }

    /** Records the cuts of one forward pass. */
    public static BackwardCuts recording() {
        return new BackwardCuts(true);
    }

    /** The tensor the forward pass continues from: {@code x} itself without cuts, else a leaf copy of it. */
    public NDArray cut(NDArray x) {
        if (!recording) {
            return x;
        }
        NDArray leaf = x.stopGradient();
        leaf.setRequiresGradient(true);
        cutFrom.add(x);
        leaves.add(leaf);
        return leaf;
    }

    /** Cuts recorded so far. */
    public int count() {
        return cutFrom.size();
    }

    /**
     * Runs the backward pass of {@code loss} (a scalar) in {@code count() + 1} stages, calling {@code stageDone} with
     * the stage's index after each; graphs are freed as they are used.
     *
     * @throws IllegalStateException when a cut does not reach the loss (its leaf got no gradient)
     */
    public void backward(NDArray loss, IntConsumer stageDone) {
        NDArray ones = loss.onesLike();
        JniUtils.backward((PtNDArray) loss, (PtNDArray) ones, false, false);
        ones.close();
        stageDone.accept(0);
        for (int c = cutFrom.size() - 1, stage = 1; c >= 0; c--, stage++) {
            NDArray leaf = leaves.get(c);
            if (!JniUtils.requiresGrad((PtNDArray) leaf)) {
                throw new IllegalStateException("backward cut " + c + " lost its leaf");
            }
            PtNDArray grad = JniUtils.getGradient((PtNDArray) leaf);
            if (grad == null) {
                throw new IllegalStateException("backward cut " + c + " of " + cutFrom.size()
                        + " does not reach the loss: its leaf has no gradient");
            }
            JniUtils.backward((PtNDArray) cutFrom.get(c), grad, false, false);
            grad.close();
            stageDone.accept(stage);
        }
    }
}
