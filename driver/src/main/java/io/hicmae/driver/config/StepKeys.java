package io.hicmae.driver.config;

import ai.djl.Device;
import io.hicmae.runtime.nn.Precision;
import io.hicmae.runtime.train.LossScaler;
import io.hicmae.runtime.train.StepPolicy;

import java.io.Serializable;

import static io.hicmae.driver.config.ConfigDef.between;
import static io.hicmae.driver.config.ConfigDef.in;

/**
 * The configuration keys of the post-reduce half of a step that every training job shares (pre-training,
 * fine-tuning): the compute precision and how many non-finite steps in a row are skipped; read into the worker's
 * {@link StepPolicy} on each rank, where the device is known.
 */
public final class StepKeys {

    public static final String PRECISION = "precision";
    public static final String MAX_NONFINITE_STEPS = "max-nonfinite-steps";
    public static final String ALLREDUCE_BUCKET_MB = "allreduce-bucket-mb";
    /** The default of {@value #ALLREDUCE_BUCKET_MB} (see bench/allreduce/README.md for the measurements). */
    public static final double DEFAULT_ALLREDUCE_BUCKET_MB = 25;

    private StepKeys() {}

    /** Adds the shared keys to a job's definition. */
    public static ConfigDef define(ConfigDef def) {
        return def
                .define(PRECISION, String.class, "auto", in("auto", "fp32", "fp16"),
                        "Compute precision: fp16 runs matmuls, convolutions and attention in half precision with "
                                + "dynamic loss scaling (fp32 master weights, moments, losses and reduced gradients); "
                                + "auto is fp16 on a GPU and fp32 on the CPU")
                .define(MAX_NONFINITE_STEPS, Integer.class, StepPolicy.DEFAULT_MAX_NONFINITE_STEPS, between(0, 1_000_000),
                        "Steps with non-finite reduced gradients skipped in a row; one more fails the attempt, which "
                                + "resumes from the last checkpoint (fp16 overflows, skipped by the loss scaler, do not count)")
                .define(ALLREDUCE_BUCKET_MB, Double.class, DEFAULT_ALLREDUCE_BUCKET_MB, between(0, 2000),
                        "Overlap: the gradient all-reduce runs in buckets of this many MB of fp32 gradients and the "
                                + "fused optimiser updates each reduced bucket while later ones are on the wire; the "
                                + "updates are undone when the step's global check (non-finite, fp16 overflow, clip) "
                                + "says so, so results are bit-identical (0: one all-reduce, then the optimiser)");
    }

    /** The worker's step policy for the parsed values on {@code device}. */
    public static StepPolicy policy(Settings s, Device device) {
        return new StepPolicy(Precision.parse(s.precision(), device), s.maxNonFiniteSteps(),
                LossScaler.Settings.gradScaler(), StepPolicy.OptimizerKind.FUSED, s.allReduceBucketMb());
    }

    /**
     * The keys' values as an executor receives them.
     *
     * @param precision auto, fp32 or fp16
     * @param maxNonFiniteSteps non-finite steps skipped in a row
     * @param allReduceBucketMb the overlap's bucket size in MB (0: no overlap)
     */
    public record Settings(String precision, int maxNonFiniteSteps, double allReduceBucketMb) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /** The settings of a job's parsed values. */
    public static Settings settings(java.util.Map<String, Object> values) {
        return new Settings((String) values.get(PRECISION), (Integer) values.get(MAX_NONFINITE_STEPS),
                (Double) values.get(ALLREDUCE_BUCKET_MB));
    }
}
