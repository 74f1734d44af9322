package io.hicmae.runtime.allreduce;

import java.nio.ByteBuffer;

/**
 * The ring's frame format, version {@value #VERSION}: a header before every chunk of gradient bytes,
 * little-endian:
 * <pre>
 * magic int ("HCMF"), version short, wire dtype byte, reserved byte (0),
 * step long, count long, seq int, length int, crc32c int
 * </pre>
 * then {@code length} payload bytes: the chunk's floats as {@link WireDtype} encodes them. {@code count} is the
 * caller's element count, {@code seq} the frame's index within one all-reduce, {@code crc32c} the CRC32C
 * ({@link java.util.zip.CRC32C}) of the payload bytes exactly as they are on the wire. A receiver checks the CRC
 * over the whole payload before it adds, stores or forwards any of it, so a byte flipped on the wire or in a peer's
 * memory after the CRC was taken fails the all-reduce naming the sender instead of entering every rank's gradients.
 * Version 1 (no version field, no CRC) is refused by its magic's next field; the handshake compares versions first.
 */
final class Frame {
    static final int MAGIC = 0x48434d46; // "HCMF"
    static final short VERSION = 2;
    static final int HEADER_BYTES = 4 + 2 + 1 + 1 + 8 + 8 + 4 + 4 + 4;
    /** Offset of the CRC32C in the header. */
    static final int CRC_OFFSET = HEADER_BYTES - 4;

    private Frame() {
    }

    static void writeHeader(ByteBuffer b, WireDtype wire, long step, long count, int seq, int length, int crc) {
        b.putInt(MAGIC).putShort(VERSION).put(wire.code()).put((byte) 0).putLong(step).putLong(count).putInt(seq)
                .putInt(length).putInt(crc);
    }

    /** The payload's CRC32C as the header states it. */
    static int crc(ByteBuffer h) {
        return h.getInt(CRC_OFFSET);
    }

    /**
     * Checks a complete header against what this rank expects next. The length is checked against 0 and
     * {@code maxFrameBytes} before any payload byte is read.
     *
     * @param from the sender, as the error messages name it
     * @return an error message showing the offending value, or null when the header is the expected one
     */
    static String check(ByteBuffer h, WireDtype wire, long step, long count, int seq, int expectedLength,
                        int maxFrameBytes, String from) {
        int magic = h.getInt(0);
        if (magic != MAGIC) {
            return String.format("bad frame magic 0x%08x (expected 0x%08x) from %s", magic, MAGIC, from);
        }
        short version = h.getShort(4);
        if (version != VERSION) {
            return "frame format version " + version + " from " + from + " while this rank speaks version " + VERSION;
        }
        byte dtype = h.get(6);
        if (dtype != wire.code()) {
            WireDtype d = WireDtype.ofCode(dtype);
            return "frame with wire dtype " + (d == null ? "code " + dtype : d) + " from " + from
                    + " while this rank uses " + wire;
        }
        long s = h.getLong(8);
        if (s != step) {
            return "frame for step " + s + " from " + from + " while this rank is at step " + step;
        }
        long c = h.getLong(16);
        if (c != count) {
            return "frame for a buffer of " + c + " floats from " + from + " while this rank reduces " + count
                    + " floats";
        }
        int q = h.getInt(24);
        if (q != seq) {
            return "frame " + q + " from " + from + " while frame " + seq + " was expected";
        }
        int length = h.getInt(28);
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

    /** The error for a payload whose CRC32C differs from its header's. */
    static String crcMismatch(int seq, String phase, String from, int stated, int computed) {
        return String.format("frame %d (%s) from %s failed its CRC32C check: the header says 0x%08x, the payload"
                + " received hashes to 0x%08x; the bytes were corrupted on the wire or in the sender's memory, so"
                + " this attempt fails before they reach any gradient", seq, phase, from, stated, computed);
    }
}
