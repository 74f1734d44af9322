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
        NDArray b = bias == null ? null : value(store, bias, x, training);
        return new NDList(apply(x, w, b)); // (..., out)
    }

    /** Applies the layer with an extra bias vector (the attention's q/v biases), as {@code F.linear(x, W, b)}. */
    NDArray forwardWithBias(ParameterStore store, NDArray x, NDArray extraBias, boolean training) {
        return apply(x, value(store, weight, x, training), extraBias);
    }

    /** {@code F.linear} in the thread's {@link Precision}: fp16 operands and an fp32 result under fp16. */
    private static NDArray apply(NDArray x, NDArray w, NDArray b) {
        NDList y = b == null
                ? ai.djl.nn.core.Linear.linear(Precision.compute(x), Precision.compute(w, x))
                : ai.djl.nn.core.Linear.linear(Precision.compute(x), Precision.compute(w, x), Precision.compute(b, x));
        return Precision.full(y.singletonOrThrow());
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        Shape in = inputShapes[0];
        return new Shape[] {in.slice(0, in.dimension() - 1).add(out)};
    }
}
