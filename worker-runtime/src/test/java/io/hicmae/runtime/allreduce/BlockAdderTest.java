package io.hicmae.runtime.allreduce;

import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;

class BlockAdderTest {
    private static FloatBuffer direct(float... values) {
        FloatBuffer f = ByteBuffer.allocateDirect(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN)
                .asFloatBuffer();
        f.put(0, values);
        return f;
    }

    @Test
    void addsOnlyTheBlockAtTheOffset() {
        FloatBuffer data = direct(1, 2, 3, 4, 5);
        new BlockAdder(4).add(data, 1, direct(10, 20, 30, 40), 0, 2, false, 3);
        float[] out = new float[5];
        data.get(0, out);
        assertEquals(Arrays.toString(new float[] {1, 12, 23, 4, 5}), Arrays.toString(out));
    }

    @Test
    void meanDividesTheSumByTheRanks() {
        FloatBuffer data = direct(1, 2, 3);
        new BlockAdder(3).add(data, 0, direct(2, 4, 6), 0, 3, true, 3);
        float[] out = new float[3];
        data.get(0, out);
        assertEquals(Arrays.toString(new float[] {1, 2, 3}), Arrays.toString(out));
    }

    @Test
    void reusedArraysCarryNothingFromTheLastBlock() {
        BlockAdder adder = new BlockAdder(4);
        FloatBuffer data = direct(0, 0, 0, 0);
        adder.add(data, 0, direct(9, 9, 9, 9), 0, 4, false, 2);
        FloatBuffer second = direct(1, 1, 1, 1);
        adder.add(second, 2, direct(7, 5, 5), 1, 2, false, 2);
        float[] out = new float[4];
        second.get(0, out);
        assertEquals(Arrays.toString(new float[] {1, 1, 6, 6}), Arrays.toString(out));
    }
}
