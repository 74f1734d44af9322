package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;

/**
 * Arithmetic with a constant on arrays that take part in back-propagation. DJL's {@code mul(Number)} and friends
 * wrap the constant in a temporary tensor over a direct buffer and close it right after the operation, but PyTorch's
 * autograd keeps that tensor for the backward pass: once the garbage collector frees the buffer, the gradients read
 * freed memory. Here the constant lives in the operand's manager until the step ends.
 */
public final class Scalars {

    private Scalars() {}

    /** {@code x * s}. */
    public static NDArray times(NDArray x, float s) {
        return x.mul(x.getManager().create(s));
    }

    /** {@code x / s}. */
    public static NDArray over(NDArray x, float s) {
        return x.div(x.getManager().create(s));
    }

    /** {@code max(x, s)} elementwise. */
    public static NDArray atLeast(NDArray x, float s) {
        return x.maximum(x.getManager().create(s));
    }
}
