package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

/**
 * The fixed 1-D sine/cosine position table over the flattened token index: {@code PE[pos, 2i] =
 * sin(pos / 10000^(2i/d))}, {@code PE[pos, 2i+1] = cos(same angle)}, computed in double and stored as float, as
 * upstream's numpy code does. Not a parameter: it never appears in a state dict.
 */
public final class SinusoidTable {

    private final int positions;
    private final int width;
    private final float[] table;

    public SinusoidTable(int positions, int width) {
        this.positions = positions;
        this.width = width;
        this.table = new float[positions * width];
        for (int pos = 0; pos < positions; pos++) {
            for (int j = 0; j < width; j++) {
                double angle = pos / Math.pow(10000, 2.0 * (j / 2) / width);
                table[pos * width + j] = (float) (j % 2 == 0 ? Math.sin(angle) : Math.cos(angle));
            }
        }
    }

    /** The table as a (1, positions, width) array owned by {@code manager}. */
    public NDArray toArray(NDManager manager) {
        return manager.create(table, new Shape(1, positions, width));
    }
}
