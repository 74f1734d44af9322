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
 * @param overlapBucketMb the gradient all-reduce's bucket size in MB (10^6 bytes of fp32 gradients) when the fused
 *                        optimiser updates each bucket while later buckets are on the wire ({@link OverlappedUpdate});
 *                        0 (the default): one all-reduce, then the optimiser
 */
public record StepPolicy(Precision precision, int maxNonFiniteSteps, LossScaler.Settings scaler,
        OptimizerKind optimizer, double overlapBucketMb) {

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
        if (!(overlapBucketMb >= 0 && overlapBucketMb <= 2000)) {
            throw new IllegalArgumentException("Invalid value " + overlapBucketMb
                    + " for configuration allreduce-bucket-mb: must be in [0, 2000]");
        }
        if (maxNonFiniteSteps < 0) {
            throw new IllegalArgumentException("Invalid value " + maxNonFiniteSteps
                    + " for configuration max-nonfinite-steps: must be at least 0");
        }
    }

    /** A policy without overlap. */
    public StepPolicy(Precision precision, int maxNonFiniteSteps, LossScaler.Settings scaler, OptimizerKind optimizer) {
        this(precision, maxNonFiniteSteps, scaler, optimizer, 0);
    }

    /** fp32, {@value #DEFAULT_MAX_NONFINITE_STEPS} non-finite steps at most, GradScaler's settings, fused AdamW. */
    public static StepPolicy defaults() {
        return new StepPolicy(Precision.FP32, DEFAULT_MAX_NONFINITE_STEPS, LossScaler.Settings.gradScaler(),
                OptimizerKind.FUSED);
    }

    public StepPolicy withPrecision(Precision p) {
        return new StepPolicy(p, maxNonFiniteSteps, scaler, optimizer, overlapBucketMb);
    }

    public StepPolicy withMaxNonFiniteSteps(int n) {
        return new StepPolicy(precision, n, scaler, optimizer, overlapBucketMb);
    }

    public StepPolicy withOptimizer(OptimizerKind kind) {
        return new StepPolicy(precision, maxNonFiniteSteps, scaler, kind, overlapBucketMb);
    }

    /** The same policy with the optimiser overlapping a bucketed all-reduce of {@code mb} MB buckets (0: off). */
    public StepPolicy withOverlapBucketMb(double mb) {
        return new StepPolicy(precision, maxNonFiniteSteps, scaler, optimizer, mb);
    }
}
