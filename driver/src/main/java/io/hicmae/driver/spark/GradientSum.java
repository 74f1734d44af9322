package io.hicmae.driver.spark;

import java.nio.FloatBuffer;

/**
 * The sum of a rank's micro-batch gradients within one step, for a rank that runs more than one: after each
 * micro-batch's backward pass {@link #add} takes the trainer's gradient buffer, and {@link #writeMeanTo} puts the
 * mean back into it before the all-reduce. The sum is kept in float, as the all-reduce adds.
 */
final class GradientSum {

    private final float[] sum;
    private int count;

    GradientSum(long size) {
        this.sum = new float[Math.toIntExact(size)];
    }

    /** Adds one micro-batch's gradients (the buffer's floats from index 0). */
    void add(FloatBuffer gradients) {
        if (gradients.limit() != sum.length) {
            throw new IllegalStateException("gradient buffer holds " + gradients.limit() + " floats, expected "
                    + sum.length);
        }
        for (int i = 0; i < sum.length; i++) {
            sum[i] += gradients.get(i);
        }
        count++;
    }

    /** Writes the mean of the added gradients into {@code gradients} and starts a new sum. */
    void writeMeanTo(FloatBuffer gradients) {
        float scale = 1f / count;
        for (int i = 0; i < sum.length; i++) {
            gradients.put(i, sum[i] * scale);
            sum[i] = 0;
        }
        count = 0;
    }
}
