package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** LayerNorm over the last axis with PyTorch's names ({@code weight}, {@code bias}) and biased variance. */
public final class LayerNorm extends HicmaeBlock {

    private final Shape normalized;
    private final float eps;
    private final Parameter weight;
    private final Parameter bias;

    public LayerNorm(long width, float eps) {
        this.normalized = new Shape(width);
        this.eps = eps;
        weight = param("weight", Parameter.Type.GAMMA, normalized, Init.ONES);
        bias = param("bias", Parameter.Type.BETA, normalized, Init.ZEROS);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow(); // (..., C)
        return ai.djl.nn.norm.LayerNorm.layerNorm(
                x, normalized, value(store, weight, x, training), value(store, bias, x, training), eps);
    }
}
