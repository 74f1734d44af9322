package io.hicmae.runtime.mask;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

import java.util.Arrays;

/**
 * One sample's token mask in the authors' convention: {@code masked[i] == true} means token {@code i} is
 * hidden from the encoder and reconstructed by the decoder. The index arrays list the visible and the
 * masked tokens in ascending order, which is the order the encoder input, the decoder sequence and the
 * reconstruction targets use.
 *
 * <p>The arrays are shared, not copied; treat them as read-only. Equality is by content.
 *
 * @param masked      per-token flag over the flattened token index, true = masked
 * @param visibleIndex ascending indices {@code i} with {@code !masked[i]}
 * @param maskedIndex  ascending indices {@code i} with {@code masked[i]}
 */
public record TokenMask(boolean[] masked, int[] visibleIndex, int[] maskedIndex) {

    /** Checks that the three arrays describe the same mask. */
    public TokenMask {
        if (masked == null || visibleIndex == null || maskedIndex == null) {
            throw new IllegalArgumentException("masked, visibleIndex and maskedIndex must not be null");
        }
        if (visibleIndex.length + maskedIndex.length != masked.length) {
            throw new IllegalArgumentException("visibleIndex (" + visibleIndex.length + ") and maskedIndex ("
                    + maskedIndex.length + ") do not add up to the " + masked.length + " tokens of masked");
        }
        checkAscending("visibleIndex", visibleIndex, masked, false);
        checkAscending("maskedIndex", maskedIndex, masked, true);
    }

    /**
     * Builds a mask from per-token flags, deriving both ascending index arrays.
     *
     * @param masked per-token flags, true = masked; used as is (not copied)
     * @return the mask
     */
    public static TokenMask of(boolean[] masked) {
        if (masked == null) {
            throw new IllegalArgumentException("masked must not be null");
        }
        int count = 0;
        for (boolean b : masked) {
            if (b) {
                count++;
            }
        }
        int[] visible = new int[masked.length - count];
        int[] hidden = new int[count];
        int v = 0;
        int h = 0;
        for (int i = 0; i < masked.length; i++) {
            if (masked[i]) {
                hidden[h++] = i;
            } else {
                visible[v++] = i;
            }
        }
        return new TokenMask(masked, visible, hidden);
    }

    /** @return the number of tokens, masked and visible */
    public int tokens() {
        return masked.length;
    }

    /**
     * Stacks a batch of masks into the tensors the model takes.
     *
     * @param manager manager that owns the new arrays
     * @param batch   one mask per sample; all with the same token count and the same masked count
     * @return {@code [mask (B, N) boolean, visibleIndex (B, Nvis) int64, maskedIndex (B, Nmask) int64]}
     */
    public static NDArray[] toArrays(NDManager manager, TokenMask[] batch) {
        if (batch == null || batch.length == 0) {
            throw new IllegalArgumentException("batch must hold at least one mask");
        }
        int n = batch[0].tokens();
        int nMasked = batch[0].maskedIndex.length;
        for (int b = 1; b < batch.length; b++) {
            if (batch[b].tokens() != n || batch[b].maskedIndex.length != nMasked) {
                throw new IllegalArgumentException("batch[" + b + "] has " + batch[b].tokens() + " tokens, "
                        + batch[b].maskedIndex.length + " masked; batch[0] has " + n + " tokens, " + nMasked
                        + " masked (every sample must have the same counts)");
            }
        }
        int nVisible = n - nMasked;
        boolean[] flags = new boolean[batch.length * n];
        long[] visible = new long[batch.length * nVisible];
        long[] hidden = new long[batch.length * nMasked];
        for (int b = 0; b < batch.length; b++) {
            TokenMask t = batch[b];
            System.arraycopy(t.masked, 0, flags, b * n, n);
            for (int i = 0; i < nVisible; i++) {
                visible[b * nVisible + i] = t.visibleIndex[i];
            }
            for (int i = 0; i < nMasked; i++) {
                hidden[b * nMasked + i] = t.maskedIndex[i];
            }
        }
        return new NDArray[] {
            manager.create(flags, new Shape(batch.length, n)),
            manager.create(visible, new Shape(batch.length, nVisible)),
            manager.create(hidden, new Shape(batch.length, nMasked))
        };
    }

    private static void checkAscending(String name, int[] index, boolean[] masked, boolean expected) {
        int previous = -1;
        for (int i = 0; i < index.length; i++) {
            int k = index[i];
            if (k <= previous || k >= masked.length || masked[k] != expected) {
                throw new IllegalArgumentException(name + "[" + i + "] = " + k
                        + " is out of order, out of range or points at a token with masked = " + !expected);
            }
            previous = k;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TokenMask t && Arrays.equals(masked, t.masked);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(masked);
    }

    @Override
    public String toString() {
        return "TokenMask[tokens=" + masked.length + ", maskedIndex=" + Arrays.toString(maskedIndex) + "]";
    }
}
