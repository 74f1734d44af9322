package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Multi-head cross-attention: queries from x ({@code q} + {@code q_bias}), keys and values from the context through
 * one {@code kv} projection (rows [k; v]) with a zero k bias and a learned {@code v_bias}, then {@code proj}.
 *
 * <p>Inputs: x (B, N, C) and context (B, M, C_ctx). Output (B, N, C). H heads, D = C / H.
 */
public final class CrossAttention extends HicmaeBlock {

    private final int heads;
    private final float scale;
    private final Parameter qBias;
    private final Parameter vBias;
    private final Linear q;
    private final Linear kv;
    private final Linear proj;

    public CrossAttention(int width, int contextWidth, int heads) {
        this.heads = heads;
        this.scale = (float) Math.pow(width / heads, -0.5);
        qBias = param("q_bias", Parameter.Type.BIAS, new Shape(width), Init.ZEROS);
        vBias = param("v_bias", Parameter.Type.BIAS, new Shape(width), Init.ZEROS);
        q = child("q", new Linear(width, width, false));
        kv = child("kv", new Linear(contextWidth, 2L * width, false));
        proj = child("proj", new Linear(width, width, true));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.get(0);
        NDArray ctx = inputs.get(1);
        long b = x.getShape().get(0);
        long n = x.getShape().get(1);
        long c = x.getShape().get(2);
        long m = ctx.getShape().get(1);
        NDArray qs = Scalars.times(q.forwardWithBias(store, x, value(store, qBias, x, training), training)
                .reshape(b, n, heads, c / heads)
                .transpose(0, 2, 1, 3), scale); // (B, H, N, D)
        NDArray kvBias = Attend.joinBias(x, null, value(store, vBias, x, training));
        NDArray kvs = kv.forwardWithBias(store, ctx, kvBias, training) // (B, M, 2C)
                .reshape(b, m, 2, heads, c / heads)
                .transpose(2, 0, 3, 1, 4); // (2, B, H, M, D)
        NDArray out = Attend.softmaxAttention(qs, kvs.get(0), kvs.get(1)) // (B, H, N, D)
                .transpose(0, 2, 1, 3)
                .reshape(b, n, c);
        return new NDList(call(proj, store, out, training));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }
}
