package io.hicmae.runtime.mask;

import java.util.random.RandomGenerator;

/** Shared argument checks and the seeded shuffle of the mask generators. */
final class Masks {
    private Masks() {
    }

    static void checkPositive(String name, int value) {
        if (value <= 0) {
            throw new IllegalArgumentException(name + " must be positive, got " + value);
        }
    }

    /**
     * Python's {@code int(ratio * n)}: the IEEE double product truncated toward zero, which is what the
     * authors' generators compute (so {@code int(0.9 * 100) = 90}, {@code int(0.8 * 128) = 102}).
     */
    static int maskedCount(double ratio, int n) {
        if (!(ratio >= 0.0 && ratio < 1.0)) {
            throw new IllegalArgumentException("ratio must be in [0, 1), got " + ratio);
        }
        return (int) (ratio * n);
    }

    /** Flags with the last {@code masked} entries true, shuffled in place by Fisher–Yates on {@code rng}. */
    static boolean[] shuffledFlags(int n, int masked, RandomGenerator rng) {
        if (rng == null) {
            throw new IllegalArgumentException("rng must not be null");
        }
        boolean[] flags = new boolean[n];
        for (int i = n - masked; i < n; i++) {
            flags[i] = true;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            boolean t = flags[i];
            flags[i] = flags[j];
            flags[j] = t;
        }
        return flags;
    }
}
