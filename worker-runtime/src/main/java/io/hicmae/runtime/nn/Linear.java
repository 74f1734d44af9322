package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** {@code y = x W^T + b} over the last axis, with PyTorch's {@code nn.Linear} parameter names and layout. */
public final class Linear extends HicmaeBlock {

    private final long out;
    private final Parameter weight;
    private final Parameter bias;

    /** A Linear {@code in -> out}; {@code withBias=false} for the authors' bias-free projections. */
    public Linear(long in, long out, boolean withBias) {
        this.out = out;
        weight = param("weight", Parameter.Type.WEIGHT, new Shape(out, in), Init.XAVIER_UNIFORM);
        bias = withBias ? param("bias", Parameter.Type.BIAS, new Shape(out), Init.ZEROS) : null;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow(); // (..., in)
        NDArray w = value(store, weight, x, training);
        return bias == null
                ? ai.djl.nn.core.Linear.linear(x, w)
                : ai.djl.nn.core.Linear.linear(x, w, value(store, bias, x, training)); // (..., out)
    }

    /** Applies the layer with an extra bias vector (the attention's q/v biases), as {@code F.linear(x, W, b)}. */
    NDArray forwardWithBias(ParameterStore store, NDArray x, NDArray extraBias, boolean training) {
        return ai.djl.nn.core.Linear.linear(x, value(store, weight, x, training), extraBias).singletonOrThrow();
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(out)};
    }
}
