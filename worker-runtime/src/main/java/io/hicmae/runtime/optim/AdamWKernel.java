package io.hicmae.runtime.optim;

import java.nio.FloatBuffer;

/**
 * The fused AdamW update of one contiguous run of elements: one pass that reads the gradient, parameter and both
 * moments and writes the parameter and moments, instead of the ~14 engine passes of the per-parameter operations.
 * Every intermediate is rounded to float in the same order as {@link AdamW}'s engine operations (Java never
 * contracts {@code a * b + c} into an FMA), so both give bit-identical results on the CPU.
 */
final class AdamWKernel {

    /**
     * A step's scalars, as float as the engine's scalar operations see them.
     *
     * @param decay {@code 1 - lr wd} (1 when the parameter is not decayed)
     * @param b1 beta1
     * @param oneMinusB1 1 - beta1
     * @param b2 beta2
     * @param oneMinusB2 1 - beta2
     * @param sqrtBc2 sqrt(1 - beta2^t)
     * @param eps epsilon
     * @param stepSize lr / (1 - beta1^t)
     * @param gradScale what each gradient is multiplied by first (fp16 unscale times the clip factor; 1 for none)
     */
    record Scalars(float decay, float b1, float oneMinusB1, float b2, float oneMinusB2, float sqrtBc2, float eps,
            float stepSize, float gradScale) {}

    private AdamWKernel() {}

    /**
     * Updates elements {@code [from, to)} of {@code p}, {@code m}, {@code v} from {@code g} at {@code gOffset + i}.
     */
    static void update(FloatBuffer g, int gOffset, FloatBuffer p, FloatBuffer m, FloatBuffer v, int from, int to,
            Scalars s) {
        final float decay = s.decay();
        final boolean decays = decay != 1f;
        final boolean scaled = s.gradScale() != 1f;
        for (int i = from; i < to; i++) {
            float gi = g.get(gOffset + i);
            if (scaled) {
                gi = gi * s.gradScale();
            }
            float pi = p.get(i);
            if (decays) {
                pi = pi * decay;
            }
            float mi = m.get(i) * s.b1() + gi * s.oneMinusB1();
            float vi = v.get(i) * s.b2() + (gi * gi) * s.oneMinusB2();
            float denom = (float) Math.sqrt(vi) / s.sqrtBc2() + s.eps();
            pi = pi - (mi / denom) * s.stepSize();
            m.put(i, mi);
            v.put(i, vi);
            p.put(i, pi);
        }
    }
}
