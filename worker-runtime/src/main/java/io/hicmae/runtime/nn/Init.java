package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.initializer.Initializer;

/**
 * The authors' initialisation, one rule per parameter kind: Xavier-uniform Linear weights, zero biases, LayerNorm
 * 1/0, truncated-normal(0.02) mask tokens, and PyTorch's default Conv init (kaiming-uniform with a = sqrt(5), i.e.
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias). Weights loaded from a checkpoint replace all of these.
 */
final class Init {

    private Init() {}

    static final Initializer ZEROS = Initializer.ZEROS;
    static final Initializer ONES = Initializer.ONES;

    /** {@code nn.init.xavier_uniform_} on an (out, in) matrix: U(-a, a), a = sqrt(6 / (in + out)). */
    static final Initializer XAVIER_UNIFORM =
            (NDManager m, Shape s, DataType t) -> {
                double a = Math.sqrt(6.0 / (s.get(0) + s.get(1)));
                return m.randomUniform((float) -a, (float) a, s, t);
            };

    /** {@code trunc_normal_(std=0.02)}: DJL re-draws values beyond two standard deviations. */
    static final Initializer TRUNC_NORMAL_002 =
            (NDManager m, Shape s, DataType t) -> m.truncatedNormal(0f, 0.02f, s, t);

    /** PyTorch's default Conv weight and bias init for a layer with the given fan-in. */
    static Initializer convDefault(long fanIn) {
        float bound = (float) (1.0 / Math.sqrt(fanIn));
        return (NDManager m, Shape s, DataType t) -> m.randomUniform(-bound, bound, s, t);
    }

}
