package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/** Pre-norm Transformer block: {@code x += Attn(LN1(x)); x += MLP(LN2(x))}. Input and output (B, N, C). */
public final class Block extends HicmaeBlock {

    private final LayerNorm norm1;
    private final Attention attn;
    private final LayerNorm norm2;
    private final Mlp mlp;
    private final float dropPath;

    public Block(int width, int heads, int mlpHidden, float eps, float dropPath) {
        norm1 = child("norm1", new LayerNorm(width, eps));
        attn = child("attn", new Attention(width, heads));
        norm2 = child("norm2", new LayerNorm(width, eps));
        mlp = child("mlp", new Mlp(width, mlpHidden));
        this.dropPath = dropPath;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        x = x.add(DropPath.apply(call(attn, store, call(norm1, store, x, training), training), dropPath, training));
        x = x.add(DropPath.apply(call(mlp, store, call(norm2, store, x, training), training), dropPath, training));
        return new NDList(x);
    }
}
