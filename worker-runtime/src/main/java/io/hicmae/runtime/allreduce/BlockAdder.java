package io.hicmae.runtime.allreduce;

import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * The ring's reduction: adds a block of received floats (fp32 or bf16 on the wire) into the gradient buffer in
 * place, through small heap arrays so that the JIT vectorises the loop (Java 17 has no vector loop over direct
 * memory). One per rank, reused by every block; {@link AllReduceBench} times it alone to show what the reduction
 * costs beside the transport.
 */
final class BlockAdder {
    /**
     * Floats per block: each block is added at once, so the arrays of the add loop (64 KiB each) stay in the core's
     * L2 cache.
     */
    static final int MAX_BLOCK_FLOATS = 16 << 10;

    private final float[] a;
    private final float[] b;
    private final short[] h;

    BlockAdder(int blockFloats) {
        a = new float[blockFloats];
        b = new float[blockFloats];
        h = new short[blockFloats];
    }

    /** Floats per block, the most one {@link #add} takes. */
    int blockFloats() {
        return a.length;
    }

    /**
     * {@code data[offset + i] += received[from + i]} for {@code i < len}, then divided by {@code ranks} when
     * {@code mean} (the last reduce-scatter step), so that the result is the mean of the ranks' values.
     */
    void add(FloatBuffer data, int offset, FloatBuffer received, int from, int len, boolean mean, int ranks) {
        received.get(from, b, 0, len);
        addInto(data, offset, len, mean, ranks, false);
    }

    /**
     * As {@link #add}, with bf16 received values widened to fp32 before the add. When {@code mean}, the result is
     * also rounded to bf16 precision: it is the segment this rank owns, which every other rank receives in bf16, so
     * rounding it here keeps the result identical on every rank.
     */
    void addBf16(FloatBuffer data, int offset, ShortBuffer received, int from, int len, boolean mean, int ranks) {
        received.get(from, h, 0, len);
        Bf16.decode(h, b, len);
        addInto(data, offset, len, mean, ranks, mean);
    }

    private void addInto(FloatBuffer data, int offset, int len, boolean mean, int ranks, boolean roundToBf16) {
        data.get(offset, a, 0, len);
        if (mean) {
            float n = ranks;
            for (int i = 0; i < len; i++) {
                a[i] = (a[i] + b[i]) / n;
            }
            if (roundToBf16) {
                for (int i = 0; i < len; i++) {
                    a[i] = Bf16.round(a[i]);
                }
            }
        } else {
            for (int i = 0; i < len; i++) {
                a[i] += b[i];
            }
        }
        data.put(offset, a, 0, len);
    }
}
