package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Cross+self block of the fusion encoder and of decoder blocks 1..n:
 * {@code x += CrossAttn(LN_c1(x), LN_c2(ctx)); x += Attn(LN1(x)); x += MLP(LN2(x))}.
 *
 * <p>Inputs: x (B, N, C) and context (B, M, C_ctx); output (B, N, C).
 */
public final class CrossSelfBlock extends HicmaeBlock {

    private final CrossAttention crossAttn;
    private final LayerNorm crossNorm1;
    private final LayerNorm crossNorm2;
    private final LayerNorm norm1;
    private final Attention attn;
    private final LayerNorm norm2;
    private final Mlp mlp;
    private final float dropPath;

    public CrossSelfBlock(int width, int contextWidth, int heads, int mlpHidden, float eps, float dropPath) {
        crossAttn = child("cross_attn", new CrossAttention(width, contextWidth, heads));
        crossNorm1 = child("cross_norm1", new LayerNorm(width, eps));
        crossNorm2 = child("cross_norm2", new LayerNorm(contextWidth, eps));
        norm1 = child("norm1", new LayerNorm(width, eps));
        attn = child("attn", new Attention(width, heads));
        norm2 = child("norm2", new LayerNorm(width, eps));
        mlp = child("mlp", new Mlp(width, mlpHidden));
        this.dropPath = dropPath;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.get(0);
        NDArray ctx = inputs.get(1);
        NDArray cross = crossAttention(store, x, ctx, training);
        x = x.add(DropPath.apply(cross, dropPath, training));
        x = x.add(DropPath.apply(call(attn, store, call(norm1, store, x, training), training), dropPath, training));
        x = x.add(DropPath.apply(call(mlp, store, call(norm2, store, x, training), training), dropPath, training));
        return new NDList(x);
    }

    /** The cross-attention branch alone, before its residual add: CrossAttn(LN_c1(x), LN_c2(ctx)). */
    public NDArray crossAttention(ParameterStore store, NDArray x, NDArray ctx, boolean training) {
        NDList in = new NDList(call(crossNorm1, store, x, training), call(crossNorm2, store, ctx, training));
        return crossAttn.forward(store, in, training).singletonOrThrow();
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}
