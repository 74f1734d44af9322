package io.hicmae.runtime.allreduce;

import java.nio.FloatBuffer;

/**
 * The ring's reduction: adds a block of received floats into the gradient buffer in place, through two small heap
 * arrays so that the JIT vectorises the loop (Java 17 has no vector loop over direct memory). One per rank, reused
 * by every block; {@link AllReduceBench} times it alone to show what the reduction costs beside the transport.
 */
final class BlockAdder {
    /**
     * Floats per block: each block is read into scratch and added at once, so the scratch and the two arrays of the
     * add loop (64 KiB each) stay in the core's L2 cache.
     */
    static final int MAX_BLOCK_FLOATS = 16 << 10;

    private final float[] a;
    private final float[] b;

    BlockAdder(int blockFloats) {
        a = new float[blockFloats];
        b = new float[blockFloats];
    }

    /** Floats per block, the most one {@link #add} takes. */
    int blockFloats() {
        return a.length;
    }

    /**
     * {@code data[offset + i] += received[i]} for {@code i < len}, then divided by {@code ranks} when {@code mean}
     * (the last reduce-scatter step), so that the result is the mean of the ranks' values.
     */
    void add(FloatBuffer data, int offset, FloatBuffer received, int len, boolean mean, int ranks) {
        data.get(offset, a, 0, len);
        received.get(0, b, 0, len);
        if (mean) {
            float n = ranks;
            for (int i = 0; i < len; i++) {
                a[i] = (a[i] + b[i]) / n;
            }
        } else {
            for (int i = 0; i < len; i++) {
                a[i] += b[i];
            }
        }
        data.put(offset, a, 0, len);
    }
}
