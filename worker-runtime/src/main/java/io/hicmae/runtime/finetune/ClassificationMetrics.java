package io.hicmae.runtime.finetune;

/**
 * Per-video classification scores as the authors' test script reports them (spec §10), fractions in [0, 1].
 *
 * @param war weighted average recall: accuracy
 * @param uar unweighted average recall: mean recall over the classes present in the labels
 * @param macroF1 sklearn's {@code f1_score(average='macro')}: mean F1 over the classes present in the labels or the
 *     predictions
 * @param weightedF1 sklearn's {@code f1_score(average='weighted')}: F1 weighted by each class's label count
 * @param recall per class; NaN for a class absent from the labels
 * @param confusion Q x Q counts, rows true class, columns predicted class
 */
public record ClassificationMetrics(double war, double uar, double macroF1, double weightedF1, double[] recall,
        long[][] confusion) {

    /** Videos scored. */
    public long count() {
        long n = 0;
        for (long[] row : confusion) {
            for (long c : row) {
                n += c;
            }
        }
        return n;
    }
}
