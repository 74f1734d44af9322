package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** Token gathering by index, the one way visible and masked tokens are picked (ascending index order). */
public final class Tokens {

    private Tokens() {}

    /** x (B, N, C) or (1, N, C) and index (B, K) int64 -> (B, K, C); differentiable in x. */
    public static NDArray gather(NDArray x, NDArray index) {
        long b = index.getShape().get(0);
        long k = index.getShape().get(1);
        long c = x.getShape().get(2);
        NDArray source = x.getShape().get(0) == b ? x : x.broadcast(new Shape(b, x.getShape().get(1), c));
        return source.gather(index.reshape(b, k, 1).broadcast(new Shape(b, k, c)), 1);
    }
}
