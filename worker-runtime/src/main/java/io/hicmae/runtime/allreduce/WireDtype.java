package io.hicmae.runtime.allreduce;

import java.util.Locale;

/**
 * How gradient floats travel between ranks. {@link #FP32} sends the buffer's bytes as they are (the default: the
 * golden and equivalence tests pin it). {@link #BF16} sends each float rounded to nearest even bfloat16 (the upper
 * 16 bits of a float), halving the bytes on the wire, like DDP's bf16 compression hook; received values are
 * widened and accumulated in fp32. The conversion is done in Java ({@link Bf16}): the engine never sees a bf16 array.
 */
public enum WireDtype {
    FP32("fp32", 4, (byte) 0),
    BF16("bf16", 2, (byte) 1);

    private final String key;
    private final int bytes;
    private final byte code;

    WireDtype(String key, int bytes, byte code) {
        this.key = key;
        this.bytes = bytes;
        this.code = code;
    }

    /** The configuration value: {@code fp32} or {@code bf16}. */
    public String key() {
        return key;
    }

    /** Bytes one float takes on the wire. */
    public int bytesPerFloat() {
        return bytes;
    }

    /** The byte the handshake and frame headers carry. */
    byte code() {
        return code;
    }

    /** The dtype of a handshake or frame code, or null when the code is unknown. */
    static WireDtype ofCode(int code) {
        for (WireDtype d : values()) {
            if (d.code == code) {
                return d;
            }
        }
        return null;
    }

    /**
     * Parses {@code fp32} or {@code bf16} (any case).
     *
     * @param key the configuration key or flag the value came from, named in the error
     */
    public static WireDtype parse(String value, String key) {
        if (value != null) {
            for (WireDtype d : values()) {
                if (d.key.equals(value.trim().toLowerCase(Locale.ROOT))) {
                    return d;
                }
            }
        }
        throw new IllegalArgumentException("Invalid value " + value + " for " + key + ": must be fp32 or bf16");
    }

    @Override
    public String toString() {
        return key;
    }
}
