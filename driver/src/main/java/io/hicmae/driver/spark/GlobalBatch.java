package io.hicmae.driver.spark;

import io.hicmae.driver.config.ConfigException;

import java.io.Serializable;

/**
 * How many clips one optimiser step consumes, independent of the number of ranks: G = M x b, as M micro-batches
 * of b clips (one forward pass each, the contrastive group). Each of W ranks runs M / W micro-batches and
 * accumulates their gradients, so any W dividing M gives the same step.
 *
 * @param clips G, clips per step over all ranks
 * @param microBatch b, clips per forward pass (batch-size)
 * @param microBatches M = G / b, micro-batches per step over all ranks
 */
public record GlobalBatch(int clips, int microBatch, int microBatches) implements Serializable {

    private static final long serialVersionUID = 1L;

    /**
     * The global batch of a run: {@code configured} (global-batch) when given, else the resumed checkpoint's
     * ({@code stored}, or null), else world-size x batch-size. Refuses a G that is not a multiple of b, and a world
     * size that does not divide M, naming the key.
     *
     * @param configured global-batch, 0 when not given
     */
    public static GlobalBatch resolve(int worldSize, int batchSize, int configured, Integer stored,
            String batchSizeKey) {
        int g = configured > 0 ? configured : stored != null ? stored : Math.multiplyExact(worldSize, batchSize);
        if (g % batchSize != 0) {
            throw new ConfigException(StageKeys.GLOBAL_BATCH, g, "must be a multiple of " + batchSizeKey + " "
                    + batchSize);
        }
        int m = g / batchSize;
        if (m % worldSize != 0) {
            throw new ConfigException(StageKeys.WORLD_SIZE, worldSize, "does not divide the " + m
                    + " micro-batches of a step (global-batch " + g + " / " + batchSizeKey + " " + batchSize
                    + "); use a world size dividing " + m);
        }
        return new GlobalBatch(g, batchSize, m);
    }

    /** Micro-batches each of {@code worldSize} ranks runs per step. */
    public int perRank(int worldSize) {
        return microBatches / worldSize;
    }
}
