package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;

/** The attention core shared by self- and cross-attention. */
final class Attend {

    private Attend() {}

    /**
     * softmax(q k^T) v for pre-scaled q: q (B, H, N, D), k and v (B, H, M, D) -> (B, H, N, D). Under
     * {@link Precision#FP16} both products run in fp16 and the softmax in fp32. (DJL 0.36's PyTorch JNI has no
     * {@code scaled_dot_product_attention}, so there is no fused kernel to call.)
     */
    static NDArray softmaxAttention(NDArray q, NDArray k, NDArray v) {
        NDArray scores = Precision.full(Precision.compute(q).matMul(Precision.compute(k).transpose(0, 1, 3, 2)));
        NDArray probabilities = scores.softmax(-1); // (B, H, N, M), fp32
        return Precision.full(Precision.compute(probabilities).matMul(Precision.compute(v)));
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
