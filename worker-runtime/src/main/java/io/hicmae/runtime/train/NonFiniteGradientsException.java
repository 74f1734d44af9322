package io.hicmae.runtime.train;

/**
 * Thrown when the reduced gradients stayed non-finite for {@code max-nonfinite-steps} steps in a row: the attempt
 * fails, and the driver's retry resumes from the last checkpoint (taken before the gradients went bad, since a skipped
 * step changes no parameter).
 */
public final class NonFiniteGradientsException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    private final long step;
    private final String parameter;

    public NonFiniteGradientsException(long step, int inARow, int max, String parameter, float value) {
        super("step " + (step + 1) + ": the reduced gradients were not finite for " + inARow
                + " steps in a row (max-nonfinite-steps " + max + "); first non-finite parameter " + parameter
                + " (gradient " + value + "). The retry resumes from the last checkpoint");
        this.step = step;
        this.parameter = parameter;
    }

    /** The step (0-based; its metrics line says {@code step + 1}) whose gradients ended the run of skips. */
    public long step() {
        return step;
    }

    /** The authors' key of the first parameter whose reduced gradient is not finite. */
    public String parameter() {
        return parameter;
    }
}
