package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.nn.Activation;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** {@code fc2(GELU(fc1(x)))} with exact (erf) GELU; hidden width = mlp ratio x width. */
public final class Mlp extends HicmaeBlock {

    private final Linear fc1;
    private final Linear fc2;

    public Mlp(int width, int hidden) {
        fc1 = child("fc1", new Linear(width, hidden, true));
        fc2 = child("fc2", new Linear(hidden, width, true));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray h = Activation.gelu(call(fc1, store, inputs.singletonOrThrow(), training)); // (B, N, hidden)
        return new NDList(call(fc2, store, h, training)); // (B, N, C)
    }
}
