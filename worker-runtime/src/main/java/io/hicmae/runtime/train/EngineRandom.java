package io.hicmae.runtime.train;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;

import java.util.function.Supplier;

/**
 * The engine's random generator, which is process-wide: trainers sharing a JVM (ranks in one executor, a
 * pre-training and a fine-tuning trainer) take turns on it, each seeding it before it draws, so what one draws
 * depends only on its own seed.
 */
public final class EngineRandom {

    private static final Object LOCK = new Object();

    private EngineRandom() {}

    /** Initialises {@code model} from {@code seed}; parameter shapes are fixed at construction. */
    public static void initialize(Block model, NDManager manager, long seed) {
        seeded(seed, () -> {
            model.initialize(manager, DataType.FLOAT32, new Shape(1));
            return null;
        });
    }

    /**
     * Runs {@code work} with the generator seeded to {@code seed} and no other thread drawing (e.g. a forward pass
     * with stochastic depth, whose masks then depend only on the seed).
     */
    public static <T> T seeded(long seed, Supplier<T> work) {
        synchronized (LOCK) {
            Engine.getInstance().setRandomSeed((int) (seed ^ (seed >>> 32)));
            return work.get();
        }
    }
}
