package io.hicmae.runtime.train;

/**
 * Dynamic loss scaling with PyTorch's {@code GradScaler} semantics, for fp16 training: the loss is multiplied by
 * {@link #scale()} before the backward pass so small fp16 gradients do not flush to zero; after the all-reduce the
 * gradients are divided by it. A step whose reduced gradients hold an inf or NaN is skipped and the scale is
 * multiplied by {@code backoff}; after {@code growthInterval} clean steps in a row it is multiplied by {@code growth}.
 * The scale and the clean-step count are part of the checkpoint, so a resumed run scales exactly as an uninterrupted
 * one.
 */
public final class LossScaler {

    /**
     * GradScaler's settings.
     *
     * @param initialScale the first scale (GradScaler: 2^16)
     * @param growth factor after a run of clean steps (2)
     * @param backoff factor after an overflow (0.5)
     * @param growthInterval clean steps in a row before the scale grows (2000)
     */
    public record Settings(double initialScale, double growth, double backoff, int growthInterval) {
        public Settings {
            if (!(initialScale > 0 && Double.isFinite(initialScale))) {
                throw new IllegalArgumentException(
                        "Invalid value " + initialScale + " for configuration loss-scale: must be positive and finite");
            }
            if (!(growth > 1) || !(backoff > 0 && backoff < 1) || growthInterval < 1) {
                throw new IllegalArgumentException("Invalid loss-scaler settings: growth " + growth + " (> 1), backoff "
                        + backoff + " (in (0, 1)), growth interval " + growthInterval + " (>= 1)");
            }
        }

        /** GradScaler's defaults: 65536, x2 after 2000 clean steps, x0.5 on overflow. */
        public static Settings gradScaler() {
            return new Settings(65536.0, 2.0, 0.5, 2000);
        }
    }

    private final Settings settings;
    private double scale;
    private long cleanSteps;

    public LossScaler(Settings settings) {
        this.settings = settings;
        this.scale = settings.initialScale();
    }

    /** What the loss is multiplied by before the backward pass. */
    public double scale() {
        return scale;
    }

    /** Clean steps since the last change of the scale (GradScaler's growth tracker). */
    public long cleanSteps() {
        return cleanSteps;
    }

    /** After a step's check: backs off on an overflow, grows after {@code growthInterval} clean steps. */
    public void update(boolean finite) {
        if (!finite) {
            scale *= settings.backoff();
            cleanSteps = 0;
        } else if (++cleanSteps == settings.growthInterval()) {
            double grown = scale * settings.growth();
            if (Double.isFinite(grown) && grown <= Float.MAX_VALUE) {
                scale = grown;
            }
            cleanSteps = 0;
        }
    }

    /** Restores a checkpoint's scale and clean-step count. */
    public void restore(double savedScale, long savedCleanSteps) {
        if (!(savedScale > 0 && Double.isFinite(savedScale)) || savedCleanSteps < 0) {
            throw new IllegalArgumentException("saved loss scale " + savedScale + " / clean steps " + savedCleanSteps
                    + " is not valid: the scale must be positive and finite");
        }
        this.scale = savedScale;
        this.cleanSteps = savedCleanSteps;
    }

    public Settings settings() {
        return settings;
    }
}
