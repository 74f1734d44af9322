package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;

/** The attention core shared by self- and cross-attention. */
final class Attend {

    private Attend() {}

    /** softmax(q k^T) v for pre-scaled q: q (B, H, N, D), k and v (B, H, M, D) -> (B, H, N, D). */
    static NDArray softmaxAttention(NDArray q, NDArray k, NDArray v) {
        NDArray scores = q.matMul(k.transpose(0, 1, 3, 2)); // (B, H, N, M)
        return scores.softmax(-1).matMul(v);
    }

    /**
     * Concatenates bias vectors, a null part standing for zeros of the same width (the missing k bias), into an
     * array owned by {@code input}'s manager, so nothing built from parameters outlives the step.
     */
    static NDArray joinBias(NDArray input, NDArray... parts) {
        NDArray template = null;
        for (NDArray p : parts) {
            if (p != null) {
                template = p;
            }
        }
        NDList list = new NDList(parts.length);
        for (NDArray p : parts) {
            list.add(p != null ? p
                    : input.getManager().zeros(template.getShape(), template.getDataType(), input.getDevice()));
        }
        NDArray joined = NDArrays.concat(list);
        joined.attach(input.getManager());
        return joined;
    }
}
