package io.hicmae.runtime.train;

import io.hicmae.runtime.nn.Precision;

/**
 * How a trainer treats each step after the all-reduce, beside the optimiser's settings: the compute precision (and
 * with fp16 the loss scaler) and how many non-finite steps in a row it skips before it gives up.
 *
 * @param precision fp32 (default) or fp16 compute
 * @param maxNonFiniteSteps steps with non-finite reduced gradients skipped in a row; one more fails the attempt
 *                          (0: the first fails it). fp16 overflows, which the loss scaler handles, do not count.
 *                          Default {@value #DEFAULT_MAX_NONFINITE_STEPS}
 * @param scaler the fp16 loss scaler's settings (unused in fp32)
 * @param optimizer which AdamW implementation runs (fused on the CPU by default)
 */
public record StepPolicy(Precision precision, int maxNonFiniteSteps, LossScaler.Settings scaler,
        OptimizerKind optimizer) {

    /** The default of {@code max-nonfinite-steps}. */
    public static final int DEFAULT_MAX_NONFINITE_STEPS = 5;

    /** Which AdamW implementation a step uses. */
    public enum OptimizerKind {
        /** One multi-threaded pass over parameters, gradients and moments where the parameters are CPU memory. */
        FUSED,
        /** Per-parameter engine operations (about 14 passes; the pre-fusion code, kept for non-CPU devices). */
        OPS
    }

    public StepPolicy {
        if (precision == null || scaler == null || optimizer == null) {
            throw new IllegalArgumentException("Invalid step policy: precision, scaler and optimizer must be given");
        }
        if (maxNonFiniteSteps < 0) {
            throw new IllegalArgumentException("Invalid value " + maxNonFiniteSteps
                    + " for configuration max-nonfinite-steps: must be at least 0");
        }
    }

    /** fp32, {@value #DEFAULT_MAX_NONFINITE_STEPS} non-finite steps at most, GradScaler's settings, fused AdamW. */
    public static StepPolicy defaults() {
        return new StepPolicy(Precision.FP32, DEFAULT_MAX_NONFINITE_STEPS, LossScaler.Settings.gradScaler(),
                OptimizerKind.FUSED);
    }

    public StepPolicy withPrecision(Precision p) {
        return new StepPolicy(p, maxNonFiniteSteps, scaler, optimizer);
    }

    public StepPolicy withMaxNonFiniteSteps(int n) {
        return new StepPolicy(precision, n, scaler, optimizer);
    }

    public StepPolicy withOptimizer(OptimizerKind kind) {
        return new StepPolicy(precision, maxNonFiniteSteps, scaler, kind);
    }
}
