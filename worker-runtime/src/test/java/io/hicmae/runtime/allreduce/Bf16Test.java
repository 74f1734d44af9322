package io.hicmae.runtime.allreduce;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.ShortBuffer;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Bf16Test {
    @Test
    void roundsToNearestEven() {
        // 1 + 2^-8 is halfway between bf16 1.0 and 1.0078125: ties go to the even mantissa (1.0).
        assertEquals(1.0f, Bf16.round(1f + 0x1p-8f));
        // 1 + 3 * 2^-8 is halfway between 1.0078125 (odd) and 1.015625 (even): up.
        assertEquals(1.015625f, Bf16.round(1f + 3 * 0x1p-8f));
        // Just above halfway rounds up.
        assertEquals(1.0078125f, Bf16.round(Math.nextUp(1f + 0x1p-8f)));
        assertEquals(-2.5f, Bf16.round(-2.5f));
    }

    @Test
    void nonFiniteValuesStayNonFinite() {
        assertTrue(Float.isNaN(Bf16.round(Float.NaN)));
        // A NaN whose payload sits only in the low 16 bits must not become infinity.
        assertTrue(Float.isNaN(Bf16.round(Float.intBitsToFloat(0x7f800001))));
        assertTrue(Float.isNaN(Bf16.round(Float.intBitsToFloat(0xff800001))));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.POSITIVE_INFINITY));
        assertEquals(Float.NEGATIVE_INFINITY, Bf16.round(Float.NEGATIVE_INFINITY));
        assertEquals(Float.POSITIVE_INFINITY, Bf16.round(Float.MAX_VALUE), "beyond bf16's range rounds to inf");
    }

    @Test
    void relativeErrorIsAtMostHalfAnUlp() {
        Random random = new Random(3);
        for (int i = 0; i < 100_000; i++) {
            float x = (float) (random.nextGaussian() * Math.pow(10, random.nextInt(20) - 10));
            float r = Bf16.round(x);
            assertTrue(Math.abs(r - x) <= Math.abs(x) * 0x1p-8f, x + " -> " + r);
            assertEquals(r, Bf16.round(r), "a bf16 value survives another round trip");
        }
    }

    @Test
    void blockCodecMatchesTheScalarConversion() {
        Random random = new Random(5);
        int n = 1000;
        FloatBuffer src = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        for (int i = 0; i < n; i++) {
            src.put(i, (float) random.nextGaussian());
        }
        ShortBuffer wire = ByteBuffer.allocateDirect(2 * n).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer();
        FloatBuffer back = ByteBuffer.allocateDirect(4 * n).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        Bf16 codec = new Bf16(256);
        for (int s = 0; s < n; s += 256) {
            int len = Math.min(256, n - s);
            codec.encode(src, s, wire, s, len);
            codec.decode(wire, s, back, s, len);
        }
        for (int i = 0; i < n; i++) {
            assertEquals(Bf16.round(src.get(i)), back.get(i), "float " + i);
        }
    }
}
