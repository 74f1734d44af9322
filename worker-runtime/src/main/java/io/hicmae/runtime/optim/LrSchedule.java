package io.hicmae.runtime.optim;

/**
 * The authors' per-step schedule ({@code utils.cosine_scheduler}): linear warm-up from {@code start} to
 * {@code peak} over the warm-up steps (numpy {@code linspace}, both ends included), then cosine from {@code peak}
 * to {@code end} over the remaining steps.
 *
 * @param peak lr after warm-up (already scaled by total batch / 256)
 * @param end final lr (scaled likewise)
 * @param start first warm-up value (upstream 0)
 * @param warmupSteps warm-up length in steps
 * @param totalSteps epochs x steps per epoch
 */
public record LrSchedule(double peak, double end, double start, long warmupSteps, long totalSteps) {

    public LrSchedule {
        if (totalSteps < 1) {
            throw new IllegalArgumentException("Invalid value " + totalSteps + " for configuration total-steps: must be at least 1");
        }
        if (warmupSteps < 0 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("Invalid value " + warmupSteps
                    + " for configuration warmup-steps: must be between 0 and the total steps " + totalSteps);
        }
    }

    /** The rule of the release scripts: base lr x total batch / 256. */
    public static double scaleByBatch(double baseLr, long totalBatch) {
        return baseLr * totalBatch / 256.0;
    }

    /** The lr at step {@code i} (0-based); steps past the end keep the final value. */
    public double at(long i) {
        if (i < warmupSteps) {
            return warmupSteps == 1 ? start : start + (peak - start) * i / (warmupSteps - 1);
        }
        long n = totalSteps - warmupSteps;
        long k = Math.min(i - warmupSteps, n - 1);
        if (n <= 0) {
            return peak;
        }
        return end + 0.5 * (peak - end) * (1 + Math.cos(Math.PI * k / n));
    }
}
