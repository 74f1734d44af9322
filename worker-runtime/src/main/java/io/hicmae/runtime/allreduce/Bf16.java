package io.hicmae.runtime.allreduce;

import java.nio.FloatBuffer;
import java.nio.ShortBuffer;

/**
 * bfloat16 for the wire, in Java: a float's upper 16 bits after rounding to nearest even, and back by appending
 * zero bits (exact). NaN stays NaN (a quiet NaN of the same sign), infinities stay infinite, and finite values
 * beyond bf16's range round to infinity as IEEE rounding does, so the finite check after the all-reduce still sees
 * every non-finite gradient. One instance per thread: it converts block by block through two small heap arrays so
 * that the JIT vectorises the loops.
 */
final class Bf16 {
    private final float[] f;
    private final short[] s;

    Bf16(int blockFloats) {
        f = new float[blockFloats];
        s = new short[blockFloats];
    }

    /** The bf16 bits of {@code x}, rounded to nearest even. */
    static short fromFloat(float x) {
        int bits = Float.floatToRawIntBits(x);
        if ((bits & 0x7fffffff) > 0x7f800000) {
            return (short) ((bits >>> 16) | 0x0040); // NaN: keep the sign, force a quiet NaN (never becomes inf)
        }
        return (short) ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16);
    }

    /** The float a bf16 stands for (exact). */
    static float toFloat(short h) {
        return Float.intBitsToFloat(h << 16);
    }

    /** {@code x} rounded to the nearest bf16, as a float: what a rank receiving {@code x} in bf16 holds. */
    static float round(float x) {
        return toFloat(fromFloat(x));
    }

    /** Floats one call converts at most. */
    int blockFloats() {
        return f.length;
    }

    /** {@code dst[dstOffset + i] = bf16(src[srcOffset + i])} for {@code i < len}, {@code len <= blockFloats()}. */
    void encode(FloatBuffer src, int srcOffset, ShortBuffer dst, int dstOffset, int len) {
        src.get(srcOffset, f, 0, len);
        encode(f, s, len);
        dst.put(dstOffset, s, 0, len);
    }

    /** {@code dst[dstOffset + i] = float(src[srcOffset + i])} for {@code i < len}, {@code len <= blockFloats()}. */
    void decode(ShortBuffer src, int srcOffset, FloatBuffer dst, int dstOffset, int len) {
        src.get(srcOffset, s, 0, len);
        decode(s, f, len);
        dst.put(dstOffset, f, 0, len);
    }

    static void encode(float[] from, short[] to, int len) {
        for (int i = 0; i < len; i++) {
            to[i] = fromFloat(from[i]);
        }
    }

    static void decode(short[] from, float[] to, int len) {
        for (int i = 0; i < len; i++) {
            to[i] = toFloat(from[i]);
        }
    }
}
