package io.hicmae.runtime.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;

/**
 * Initialises a model from a seed. The engine's generator is process-wide, so trainers sharing a JVM (ranks in one
 * executor, a pre-training and a fine-tuning trainer) take turns: each draws the weights its seed gives.
 */
public final class SeededInit {

    private static final Object LOCK = new Object();

    private SeededInit() {}

    /** Every parameter shape is fixed at construction, so the input shape is a placeholder. */
    public static void initialize(Block model, NDManager manager, long seed) {
        synchronized (LOCK) {
            Engine.getInstance().setRandomSeed((int) seed);
            model.initialize(manager, DataType.FLOAT32, new Shape(1));
        }
    }
}
