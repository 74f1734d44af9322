package io.hicmae.runtime.finetune;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hand-computed cases; the expected values follow sklearn's definitions (see {@link Metrics}). */
class MetricsTest {

    private static final double EPS = 1e-12;

    @Test
    void classAbsentFromPredictionsHasRecallZeroAndCountsInUar() {
        // Class 2 is never predicted. Confusion rows (true): [2 1 0], [0 1 0], [2 0 0].
        int[] labels = {0, 0, 0, 1, 2, 2};
        int[] predictions = {0, 0, 1, 1, 0, 0};

        ClassificationMetrics m = Metrics.classification(labels, predictions, 3);

        assertArrayEquals(new long[][] {{2, 1, 0}, {0, 1, 0}, {2, 0, 0}}, m.confusion());
        assertEquals(3.0 / 6, m.war(), EPS);
        assertArrayEquals(new double[] {2.0 / 3, 1.0, 0.0}, m.recall(), EPS);
        assertEquals((2.0 / 3 + 1.0 + 0.0) / 3, m.uar(), EPS);
        // F1 = 2TP / (support + predicted): 4/7, 2/3 and 0 for the never-predicted class.
        assertEquals((4.0 / 7 + 2.0 / 3 + 0.0) / 3, m.macroF1(), EPS);
        assertEquals((3 * 4.0 / 7 + 1 * 2.0 / 3 + 2 * 0.0) / 6, m.weightedF1(), EPS);
        assertEquals(6, m.count());
    }

    @Test
    void classAbsentFromLabelsIsLeftOutOfUarButNotOfMacroF1() {
        // Class 3 is predicted once but never a label (upstream's UAR would be NaN); class 2 appears nowhere.
        int[] labels = {0, 0, 1};
        int[] predictions = {0, 3, 1};

        ClassificationMetrics m = Metrics.classification(labels, predictions, 4);

        assertEquals(2.0 / 3, m.war(), EPS);
        assertEquals((0.5 + 1.0) / 2, m.uar(), EPS);
        assertTrue(Double.isNaN(m.recall()[2]) && Double.isNaN(m.recall()[3]));
        assertEquals((2.0 / 3 + 1.0 + 0.0) / 3, m.macroF1(), EPS); // over classes 0, 1, 3
        assertEquals((2 * 2.0 / 3 + 1 * 1.0) / 3, m.weightedF1(), EPS);
    }

    @Test
    void perfectPredictionsScoreOne() {
        ClassificationMetrics m = Metrics.classification(new int[] {1, 0, 2}, new int[] {1, 0, 2}, 3);
        assertEquals(1.0, m.war(), EPS);
        assertEquals(1.0, m.uar(), EPS);
        assertEquals(1.0, m.macroF1(), EPS);
    }

    @Test
    void rejectsAnOutOfRangeClassNamingTheVideo() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Metrics.classification(new int[] {0, 5}, new int[] {0, 1}, 3));
        assertEquals("label 5 of video 1 is not a class in [0, 3)", e.getMessage());
    }

    @Test
    void pccAndCccOfAHandComputedCase() {
        // x = [1 2 3], y = [1 3 2]: unbiased variances 1 and 1, covariance 0.5.
        RegressionMetrics same = Metrics.regression(rows(1, 2, 3), rows(1, 3, 2));
        assertEquals(0.5, same.pcc()[0], EPS);
        assertEquals(2 * 0.5 / (1 + 1 + 0), same.ccc()[0], EPS);
        // Shifting the predictions by 1 keeps PCC and adds (mean difference)^2 = 1 to CCC's denominator.
        RegressionMetrics shifted = Metrics.regression(rows(2, 3, 4), rows(1, 3, 2));
        assertEquals(0.5, shifted.pcc()[0], EPS);
        assertEquals(2 * 0.5 / (1 + 1 + 1), shifted.ccc()[0], EPS);
        assertEquals(1.0, Metrics.regression(rows(1, 2, 3), rows(1, 2, 3)).ccc()[0], EPS);
    }

    @Test
    void constantPredictionsScoreZeroWithoutNaN() {
        // 0.1 three times: its floating-point mean misses 0.1 by an ulp; the variance must still be exactly 0.
        RegressionMetrics m = Metrics.regression(rows(0.1f, 0.1f, 0.1f), rows(1, 2, 3));
        assertEquals(0.0, m.pcc()[0]);
        assertEquals(0.0, m.ccc()[0]);
        RegressionMetrics bothConstant = Metrics.regression(rows(5, 5), rows(5, 5));
        assertEquals(0.0, bothConstant.pcc()[0]);
        assertEquals(0.0, bothConstant.ccc()[0]);
    }

    @Test
    void regressionScoresEachDimensionAndAveragesThem() {
        float[][] outputs = {{1, 4}, {2, 4}, {3, 4}};
        float[][] targets = {{1, 1}, {3, 2}, {2, 3}};

        RegressionMetrics m = Metrics.regression(outputs, targets);

        assertArrayEquals(new double[] {0.5, 0.0}, m.pcc(), EPS);
        assertArrayEquals(new double[] {0.5, 0.0}, m.ccc(), EPS);
        assertEquals(0.25, m.meanPcc(), EPS);
        assertEquals(0.25, m.meanCcc(), EPS);
    }

    @Test
    void regressionNeedsTwoVideos() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Metrics.regression(rows(1), rows(2)));
        assertEquals("1 video(s): correlations need at least 2", e.getMessage());
    }

    private static float[][] rows(float... column) {
        float[][] out = new float[column.length][];
        for (int i = 0; i < column.length; i++) {
            out[i] = new float[] {column[i]};
        }
        return out;
    }
}
