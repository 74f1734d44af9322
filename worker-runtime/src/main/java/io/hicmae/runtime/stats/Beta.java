package io.hicmae.runtime.stats;

import java.util.random.RandomGenerator;

/**
 * Symmetric Beta(a, a) draws from a seeded generator, as X / (X + Y) with X, Y ~ Gamma(a) (Marsaglia and Tsang), for
 * the audio gain augmentation and mixup's mixing ratio. Deterministic for a given generator state.
 */
public final class Beta {

    private Beta() {}

    /** One draw of Beta(a, a), a > 0. */
    public static double sample(double a, RandomGenerator rng) {
        double x = gamma(a, rng);
        double y = gamma(a, rng);
        return x / (x + y);
    }

    /** Marsaglia and Tsang (2000), scale 1; shapes below 1 use Gamma(a + 1) * U^(1/a). */
    private static double gamma(double a, RandomGenerator rng) {
        if (a < 1) {
            return gamma(a + 1, rng) * Math.pow(1.0 - rng.nextDouble(), 1.0 / a);
        }
        double d = a - 1.0 / 3.0;
        double c = 1.0 / Math.sqrt(9.0 * d);
        while (true) {
            double x = rng.nextGaussian();
            double v = 1.0 + c * x;
            if (v <= 0) {
                continue;
            }
            v = v * v * v;
            double u = rng.nextDouble();
            double x2 = x * x;
            if (u < 1.0 - 0.0331 * x2 * x2 || Math.log(u) < 0.5 * x2 + d * (1.0 - v + Math.log(v))) {
                return d * v;
            }
        }
    }
}
