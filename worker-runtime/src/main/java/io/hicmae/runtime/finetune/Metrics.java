package io.hicmae.runtime.finetune;

/**
 * The evaluation metrics of the authors' fine-tuning scripts, computed per video.
 *
 * <p>Classification follows {@code run_class_finetuning_av.py} (sklearn {@code confusion_matrix} and
 * {@code f1_score}). WAR = accuracy. UAR = mean over classes of recall = diagonal / row sum, over the classes present
 * in the labels; this is sklearn's {@code balanced_accuracy_score} and equals upstream's value whenever that is
 * defined (upstream divides by a zero row, giving NaN, when a class is predicted but absent from the labels). A class
 * present in the labels but never predicted has recall 0 and counts in UAR. F1 uses sklearn's rules with
 * {@code zero_division=0}: per-class F1 = 2TP / (2TP + FP + FN); macro F1 averages over the classes present in the
 * labels or the predictions (a never-predicted class contributes F1 0); weighted F1 weights by label count.
 *
 * <p>Regression follows {@code regression_metrics.py}: PCC is Pearson's r; CCC = 2 cov / (var_pred + var_label +
 * (mean_pred - mean_label)^2) with numpy's unbiased (n - 1) covariance and variances, as upstream's {@code np.cov}.
 * Where a denominator is zero (constant predictions for PCC; constant and equal predictions and labels for CCC) the
 * correlation is undefined; it is reported as 0 rather than NaN, so constant predictions never score above 0. CCC of
 * constant predictions against varying labels is 0 by the formula itself (cov = 0).
 */
public final class Metrics {

    private Metrics() {}

    /**
     * @param labels true class per video (N)
     * @param predictions predicted class per video (N)
     * @param classes Q; every label and prediction must be in [0, Q)
     */
    public static ClassificationMetrics classification(int[] labels, int[] predictions, int classes) {
        if (labels.length != predictions.length) {
            throw new IllegalArgumentException(
                    labels.length + " labels but " + predictions.length + " predictions: one of each per video");
        }
        if (labels.length == 0) {
            throw new IllegalArgumentException("no videos to score");
        }
        long[][] confusion = new long[classes][classes];
        for (int i = 0; i < labels.length; i++) {
            checkClass("label", i, labels[i], classes);
            checkClass("prediction", i, predictions[i], classes);
            confusion[labels[i]][predictions[i]]++;
        }
        long n = labels.length;
        long correct = 0;
        double recallSum = 0;
        int present = 0;
        double f1Sum = 0;
        int f1Classes = 0;
        double weightedF1 = 0;
        double[] recall = new double[classes];
        for (int c = 0; c < classes; c++) {
            long tp = confusion[c][c];
            long support = 0;
            long predicted = 0;
            for (int k = 0; k < classes; k++) {
                support += confusion[c][k];
                predicted += confusion[k][c];
            }
            correct += tp;
            recall[c] = support > 0 ? (double) tp / support : Double.NaN;
            if (support > 0) {
                recallSum += recall[c];
                present++;
            }
            if (support + predicted > 0) {
                double f1 = 2.0 * tp / (support + predicted); // 2TP / (2TP + FP + FN)
                f1Sum += f1;
                f1Classes++;
                weightedF1 += f1 * support / n;
            }
        }
        return new ClassificationMetrics((double) correct / n, recallSum / present, f1Sum / f1Classes, weightedF1,
                recall, confusion);
    }

    /**
     * @param outputs predictions per video (N, D)
     * @param targets labels per video (N, D)
     * @throws IllegalArgumentException for fewer than 2 videos (no variance) or ragged rows
     */
    public static RegressionMetrics regression(float[][] outputs, float[][] targets) {
        if (outputs.length != targets.length) {
            throw new IllegalArgumentException(
                    outputs.length + " outputs but " + targets.length + " targets: one of each per video");
        }
        if (outputs.length < 2) {
            throw new IllegalArgumentException(
                    outputs.length + " video(s): correlations need at least 2");
        }
        int dims = targets[0].length;
        double[][] x = new double[dims][outputs.length];
        double[][] y = new double[dims][outputs.length];
        for (int i = 0; i < outputs.length; i++) {
            if (outputs[i].length != dims || targets[i].length != dims) {
                throw new IllegalArgumentException("video " + i + " has " + outputs[i].length + " outputs and "
                        + targets[i].length + " targets, expected " + dims + " of each");
            }
            for (int d = 0; d < dims; d++) {
                x[d][i] = outputs[i][d];
                y[d][i] = targets[i][d];
            }
        }
        double[] pcc = new double[dims];
        double[] ccc = new double[dims];
        for (int d = 0; d < dims; d++) {
            pcc[d] = pcc(x[d], y[d]);
            ccc[d] = ccc(x[d], y[d]);
        }
        return new RegressionMetrics(pcc, ccc, outputs.length);
    }

    /** Pearson's r of predictions x and labels y; 0 where either is constant. */
    static double pcc(double[] x, double[] y) {
        Moments m = Moments.of(x, y);
        double denominator = Math.sqrt(m.varX * m.varY);
        return denominator == 0 ? 0 : m.cov / denominator;
    }

    /** Lin's concordance correlation with unbiased moments (upstream); 0 where its denominator is 0. */
    static double ccc(double[] x, double[] y) {
        Moments m = Moments.of(x, y);
        double diff = m.meanX - m.meanY;
        double denominator = m.varX + m.varY + diff * diff;
        return denominator == 0 ? 0 : 2 * m.cov / denominator;
    }

    /**
     * Means, unbiased variances and covariance of two equally long samples (two passes). A constant sample is
     * centred exactly (its mean in floating point can miss the value by an ulp, which would leave a spurious variance).
     */
    private record Moments(double meanX, double meanY, double varX, double varY, double cov) {
        static Moments of(double[] x, double[] y) {
            int n = x.length;
            double mx = mean(x);
            double my = mean(y);
            double vx = 0;
            double vy = 0;
            double c = 0;
            for (int i = 0; i < n; i++) {
                double dx = x[i] - mx;
                double dy = y[i] - my;
                vx += dx * dx;
                vy += dy * dy;
                c += dx * dy;
            }
            return new Moments(mx, my, vx / (n - 1), vy / (n - 1), c / (n - 1));
        }

        private static double mean(double[] v) {
            boolean constant = true;
            double s = 0;
            for (double e : v) {
                s += e;
                constant &= e == v[0];
            }
            return constant ? v[0] : s / v.length;
        }
    }

    private static void checkClass(String what, int video, int value, int classes) {
        if (value < 0 || value >= classes) {
            throw new IllegalArgumentException(
                    what + " " + value + " of video " + video + " is not a class in [0, " + classes + ")");
        }
    }
}
