package io.hicmae.runtime.finetune;

/**
 * A linear probe solved exactly: features standardised per dimension with the training clips' mean and standard
 * deviation (the role MAE's non-affine BatchNorm plays before its linear probe), then ridge regression onto one-hot
 * labels, W = (X'X + n lambda I)^-1 X'Y with an unpenalised bias, and the class with the largest score wins. Closed
 * form, so the probe is trained to its optimum whatever the features' scale and conditioning: a comparison of two
 * backbones then measures what their features make linearly available, not how fast a head's optimiser gets there.
 *
 * <p>Dimensions: N clips, D feature width, Q classes.
 */
final class RidgeProbe {

    private final double[] mean;
    private final double[] scale;
    private final double[][] weights; // (D + 1, Q), bias last

    private RidgeProbe(double[] mean, double[] scale, double[][] weights) {
        this.mean = mean;
        this.scale = scale;
        this.weights = weights;
    }

    /**
     * Fits on features (N, D) with labels in [0, classes).
     *
     * @param lambda ridge strength per clip, at least 0
     */
    static RidgeProbe fit(float[][] features, int[] labels, int classes, double lambda) {
        if (features.length == 0 || features.length != labels.length) {
            throw new IllegalArgumentException("features and labels must be non-empty and of equal length, got "
                    + features.length + " and " + labels.length);
        }
        if (!(lambda >= 0)) {
            throw new IllegalArgumentException("Invalid value " + lambda + " for ridge lambda: must be at least 0");
        }
        int n = features.length;
        int d = features[0].length;
        double[] mean = new double[d];
        double[] scale = new double[d];
        for (float[] x : features) {
            for (int j = 0; j < d; j++) {
                mean[j] += x[j] / (double) n;
            }
        }
        for (float[] x : features) {
            for (int j = 0; j < d; j++) {
                scale[j] += (x[j] - mean[j]) * (x[j] - mean[j]) / n;
            }
        }
        for (int j = 0; j < d; j++) {
            scale[j] = 1 / Math.sqrt(scale[j] + 1e-8);
        }
        double[][] gram = new double[d + 1][d + 1];
        double[][] rhs = new double[d + 1][classes];
        double[] z = new double[d + 1];
        for (int i = 0; i < n; i++) {
            standardise(features[i], mean, scale, z);
            for (int a = 0; a <= d; a++) {
                for (int b = 0; b <= d; b++) {
                    gram[a][b] += z[a] * z[b];
                }
                rhs[a][labels[i]] += z[a];
            }
        }
        for (int a = 0; a < d; a++) {
            gram[a][a] += n * lambda;
        }
        return new RidgeProbe(mean, scale, solve(gram, rhs));
    }

    /** The predicted class of each clip (N, D). */
    int[] predict(float[][] features) {
        int[] out = new int[features.length];
        double[] z = new double[mean.length + 1];
        for (int i = 0; i < features.length; i++) {
            standardise(features[i], mean, scale, z);
            double best = Double.NEGATIVE_INFINITY;
            for (int q = 0; q < weights[0].length; q++) {
                double s = 0;
                for (int a = 0; a < z.length; a++) {
                    s += z[a] * weights[a][q];
                }
                if (s > best) {
                    best = s;
                    out[i] = q;
                }
            }
        }
        return out;
    }

    /** z = ((x - mean) * scale, 1). */
    private static void standardise(float[] x, double[] mean, double[] scale, double[] z) {
        for (int j = 0; j < mean.length; j++) {
            z[j] = (x[j] - mean[j]) * scale[j];
        }
        z[mean.length] = 1;
    }

    /** Solves A X = B by Gaussian elimination with partial pivoting; A is square and overwritten, as is B. */
    static double[][] solve(double[][] a, double[][] b) {
        int n = a.length;
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) {
                    pivot = r;
                }
            }
            if (Math.abs(a[pivot][col]) < 1e-12) {
                throw new IllegalArgumentException("singular system at column " + col + "; use a lambda above 0");
            }
            double[] t = a[col];
            a[col] = a[pivot];
            a[pivot] = t;
            t = b[col];
            b[col] = b[pivot];
            b[pivot] = t;
            for (int r = col + 1; r < n; r++) {
                double f = a[r][col] / a[col][col];
                if (f != 0) {
                    for (int c = col; c < n; c++) {
                        a[r][c] -= f * a[col][c];
                    }
                    for (int c = 0; c < b[r].length; c++) {
                        b[r][c] -= f * b[col][c];
                    }
                }
            }
        }
        double[][] x = new double[n][b[0].length];
        for (int r = n - 1; r >= 0; r--) {
            for (int c = 0; c < b[0].length; c++) {
                double s = b[r][c];
                for (int k = r + 1; k < n; k++) {
                    s -= a[r][k] * x[k][c];
                }
                x[r][c] = s / a[r][r];
            }
        }
        return x;
    }
}
