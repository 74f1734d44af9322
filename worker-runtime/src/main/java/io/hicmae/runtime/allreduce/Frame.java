package io.hicmae.runtime.allreduce;

import java.nio.ByteBuffer;

/**
 * The header before every chunk of gradient bytes, little-endian:
 * {@code magic int, step long, count long, seq int, length int}, then {@code length} payload bytes (floats).
 * {@code count} is the caller's element count, {@code seq} the frame's index within one all-reduce.
 */
final class Frame {
    static final int MAGIC = 0x48434d46; // "HCMF"
    static final int HEADER_BYTES = 4 + 8 + 8 + 4 + 4;

    private Frame() {
    }

    static void writeHeader(ByteBuffer b, long step, long count, int seq, int length) {
        b.putInt(MAGIC).putLong(step).putLong(count).putInt(seq).putInt(length);
    }

    /**
     * Checks a complete header against what this rank expects next and returns its payload length. The length
     * is checked against 0 and {@code maxFrameBytes} before any payload byte is read.
     *
     * @param from the sender, as the error messages name it
     * @return an error message showing the offending value, or null when the header is the expected one
     */
    static String check(ByteBuffer h, long step, long count, int seq, int expectedLength, int maxFrameBytes,
                        String from) {
        int magic = h.getInt(0);
        if (magic != MAGIC) {
            return String.format("bad frame magic 0x%08x (expected 0x%08x) from %s", magic, MAGIC, from);
        }
        long s = h.getLong(4);
        if (s != step) {
            return "frame for step " + s + " from " + from + " while this rank is at step " + step;
        }
        long c = h.getLong(12);
        if (c != count) {
            return "frame for a buffer of " + c + " floats from " + from + " while this rank reduces " + count
                    + " floats";
        }
        int q = h.getInt(20);
        if (q != seq) {
            return "frame " + q + " from " + from + " while frame " + seq + " was expected";
        }
        int length = h.getInt(24);
        if (length <= 0 || length > maxFrameBytes) {
            return "frame length " + length + " from " + from + " is outside [1, " + maxFrameBytes
                    + "] (max-frame-bytes)";
        }
        if (length != expectedLength) {
            return "frame " + seq + " from " + from + " has " + length + " bytes while " + expectedLength
                    + " were expected";
        }
        return null;
    }
}
