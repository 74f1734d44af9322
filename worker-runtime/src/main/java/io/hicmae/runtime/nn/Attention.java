package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Multi-head self-attention as the authors write it: one bias-free {@code qkv} projection plus learned
 * {@code q_bias} and {@code v_bias} (k has no bias), scale head_dim^-0.5 on q, output projection {@code proj}.
 *
 * <p>Dimensions: B batch, N tokens, C width, H heads, D = C / H.
 */
public final class Attention extends HicmaeBlock {

    private final int heads;
    private final float scale;
    private final Parameter qBias;
    private final Parameter vBias;
    private final Linear qkv;
    private final Linear proj;

    public Attention(int width, int heads) {
        this.heads = heads;
        this.scale = (float) Math.pow(width / heads, -0.5);
        qBias = param("q_bias", Parameter.Type.BIAS, new Shape(width), Init.ZEROS);
        vBias = param("v_bias", Parameter.Type.BIAS, new Shape(width), Init.ZEROS);
        qkv = child("qkv", new Linear(width, 3L * width, false));
        proj = child("proj", new Linear(width, width, true));
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray x = inputs.singletonOrThrow();
        long b = x.getShape().get(0);
        long n = x.getShape().get(1);
        long c = x.getShape().get(2);
        NDArray bias = Attend.joinBias(x, value(store, qBias, x, training), null, value(store, vBias, x, training));
        NDArray t = qkv.forwardWithBias(store, x, bias, training) // (B, N, 3C)
                .reshape(b, n, 3, heads, c / heads)
                .transpose(2, 0, 3, 1, 4); // (3, B, H, N, D)
        NDArray q = Scalars.times(t.get(0), scale);
        NDArray out = Attend.softmaxAttention(q, t.get(1), t.get(2)) // (B, H, N, D)
                .transpose(0, 2, 1, 3)
                .reshape(b, n, c); // (B, N, C)
        return new NDList(call(proj, store, out, training));
    }
}
