package io.hicmae.runtime.finetune;

/**
 * Per-video regression scores per dimension, as the authors' {@code regression_metrics.py} computes them.
 *
 * @param pcc Pearson correlation per dimension
 * @param ccc concordance correlation per dimension
 * @param count videos scored
 */
public record RegressionMetrics(double[] pcc, double[] ccc, long count) {

    /** Mean PCC over dimensions (upstream's headline {@code pcc}). */
    public double meanPcc() {
        return mean(pcc);
    }

    /** Mean CCC over dimensions (upstream's headline {@code ccc}). */
    public double meanCcc() {
        return mean(ccc);
    }

    private static double mean(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x;
        }
        return s / v.length;
    }
}
