package io.hicmae.runtime.train;

/**
 * What the post-reduce half of one step did: applied the optimiser, or skipped it and why. Goes into the step's
 * metrics (never a NaN number: a non-finite norm is reported as {@link #finiteNormOrNull()} null).
 *
 * @param lr the scheduled lr of the step
 * @param gradNorm L2 norm of the reduced (and, in fp16, unscaled) gradients, before clipping; NaN or inf when
 *                 they were not finite
 * @param skip why the optimiser did not run, or null when it did
 * @param lossScale the loss scale the step's backward pass used (1 in fp32)
 * @param skippedSteps steps skipped so far in this trainer, every reason together (the skip counter)
 */
public record StepOutcome(double lr, double gradNorm, Skip skip, double lossScale, long skippedSteps) {

    /** Why a step was skipped. */
    public enum Skip {
        /** Non-finite reduced gradients in fp32 (a poisoned rank, a bit flip, a diverging run). */
        NONFINITE,
        /** An fp16 overflow: the loss scaler skips the step and lowers the scale; not counted as non-finite. */
        OVERFLOW;

        /** The name in the metrics: {@code nonfinite} or {@code overflow}. */
        public String metric() {
            return this == NONFINITE ? "nonfinite" : "overflow";
        }
    }

    public boolean applied() {
        return skip == null;
    }

    /** The gradient norm, or null when it is not finite (JSON has no NaN). */
    public Double finiteNormOrNull() {
        return Double.isFinite(gradNorm) ? gradNorm : null;
    }
}
