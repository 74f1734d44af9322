package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;

/**
 * Stochastic depth on a residual branch: in training, each sample's branch is dropped with probability p and the
 * kept ones scaled by 1 / (1 - p). Pre-training uses p = 0 (identity); fine-tuning uses 0.1.
 */
final class DropPath {

    private DropPath() {}

    /** x (B, ...) -> x with whole samples zeroed at rate p (training only). */
    static NDArray apply(NDArray x, float p, boolean training) {
        if (!training || p == 0f) {
            return x;
        }
        long[] keepShape = new long[x.getShape().dimension()];
        java.util.Arrays.fill(keepShape, 1);
        keepShape[0] = x.getShape().get(0);
        float keep = 1f - p;
        NDArray mask = x.getManager()
                .randomUniform(0f, 1f, new ai.djl.ndarray.types.Shape(keepShape), x.getDataType(), x.getDevice())
                .lt(keep)
                .toType(x.getDataType(), false);
        return Scalars.over(x.mul(mask), keep);
    }
}
