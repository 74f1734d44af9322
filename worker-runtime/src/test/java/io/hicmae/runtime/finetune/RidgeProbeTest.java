package io.hicmae.runtime.finetune;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RidgeProbeTest {

    @Test
    void solvesALinearSystemThatNeedsPivoting() {
        double[][] a = {{0, 2, 1}, {1, 1, 0}, {3, 0, 1}};
        double[][] b = {{5, 0}, {3, 0}, {4, 5}}; // solutions (1, 2, 1) and (1, -1, 2)
        double[][] x = RidgeProbe.solve(new double[][] {a[0].clone(), a[1].clone(), a[2].clone()},
                new double[][] {b[0].clone(), b[1].clone(), b[2].clone()});
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 2; c++) {
                double s = 0;
                for (int k = 0; k < 3; k++) {
                    s += a[r][k] * x[k][c];
                }
                assertEquals(b[r][c], s, 1e-9);
            }
        }
        assertArrayEquals(new double[] {1, 2, 1}, new double[] {x[0][0], x[1][0], x[2][0]}, 1e-9);
        assertArrayEquals(new double[] {1, -1, 2}, new double[] {x[0][1], x[1][1], x[2][1]}, 1e-9);
    }

    /** The class sits in small-scale dimensions beside large nuisance dimensions; standardisation finds it. */
    @Test
    void findsALinearlyCodedClassAmongLargeNuisance() {
        SplittableRandom rng = new SplittableRandom(3);
        Data train = data(400, rng, true);
        Data test = data(200, rng, true);
        RidgeProbe probe = RidgeProbe.fit(train.x, train.y, 4, 1e-3);
        assertTrue(accuracy(probe.predict(test.x), test.y) > 0.9);
    }

    @Test
    void staysNearChanceWhenTheLabelIsNotInTheFeatures() {
        SplittableRandom rng = new SplittableRandom(4);
        Data train = data(400, rng, false);
        Data test = data(400, rng, false);
        RidgeProbe probe = RidgeProbe.fit(train.x, train.y, 4, 1e-3);
        assertTrue(accuracy(probe.predict(test.x), test.y) < 0.4);
    }

    @Test
    void rejectsBadInput() {
        float[][] x = {{1f}, {2f}};
        assertThrows(IllegalArgumentException.class, () -> RidgeProbe.fit(x, new int[] {0}, 2, 1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> RidgeProbe.fit(x, new int[] {0, 1}, 2, -1));
        assertTrue(e.getMessage().contains("Invalid value -1.0"), e.getMessage());
    }

    private record Data(float[][] x, int[] y) {}

    /**
     * 8 dimensions: nuisance of scale 100 in the first four; in the last four 0.01 for the clip's class (if coded)
     * plus noise of scale 0.002.
     */
    private static Data data(int n, SplittableRandom rng, boolean coded) {
        float[][] x = new float[n][8];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = rng.nextInt(4);
            for (int j = 0; j < 4; j++) {
                x[i][j] = (float) (100 * rng.nextGaussian());
                x[i][4 + j] = (float) ((coded && j == y[i] ? 0.01 : 0) + 0.002 * rng.nextGaussian());
            }
        }
        return new Data(x, y);
    }

    private static double accuracy(int[] predicted, int[] truth) {
        int right = 0;
        for (int i = 0; i < truth.length; i++) {
            right += predicted[i] == truth[i] ? 1 : 0;
        }
        return right / (double) truth.length;
    }
}
