package io.hicmae.runtime.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

/**
 * Fine-tuning's classification loss: the mean over the batch of {@code -sum(target * log_softmax(logits))}, with
 * label-smoothed one-hot targets (off = smoothing / Q, on = 1 - smoothing + off), as timm's mixup produces them when
 * no mixing happens.
 */
public final class SoftTargetCrossEntropy {

    private SoftTargetCrossEntropy() {}

    /** Smoothed one-hot targets (B, Q) for int64 labels (B). */
    public static NDArray smoothTargets(NDArray labels, int classes, float smoothing) {
        float off = smoothing / classes;
        float on = 1f - smoothing + off;
        return labels.oneHot(classes).toType(DataType.FLOAT32, false).mul(on - off).add(off);
    }

    /** Loss for soft targets (B, Q) and logits (B, Q): a scalar. */
    public static NDArray loss(NDArray logits, NDArray targets) {
        return logits.logSoftmax(1).mul(targets).sum(new int[] {1}).neg().mean();
    }
}
