package io.hicmae.runtime.data;

/**
 * One rank's data-loading settings, as an executor receives them (the driver's typed config validates user input and
 * builds this).
 *
 * <p>A step consumes {@code slots} micro-batches of {@code batchSize} clips (global batch = slots x batchSize); each
 * slot has its own slice of the epoch order ({@link ClipIndex#epochOrder}) and its own random streams, and rank r
 * runs the slots [r slots / ranks, (r + 1) slots / ranks). So any number of ranks dividing {@code slots} sees the
 * same micro-batches with the same augmentation.
 *
 * @param rank this rank, in [0, ranks)
 * @param ranks n, the ranks sharing the dataset
 * @param slots micro-batches per step over all ranks, a multiple of ranks
 * @param batchSize clips per micro-batch (one forward pass)
 * @param seed the run's seed; with the epoch it fixes every rank's clip order, and with the step every augmentation
 * @param prefetchBatches batches prepared ahead of the consumer (the queue's capacity); memory grows by one batch of
 *     host arrays each
 * @param shuffleRowGroups row groups whose clips are shuffled together (see {@link ClipIndex}); memory holds about
 *     twice this many row groups of decoded clips
 * @param geometry the stored clips' shape, checked on every row
 */
public record LoaderOptions(int rank, int ranks, int slots, int batchSize, long seed, int prefetchBatches,
        int shuffleRowGroups, ClipGeometry geometry) {

    /** One micro-batch per rank and step (slots = ranks). */
    public LoaderOptions(int rank, int ranks, int batchSize, long seed, int prefetchBatches, int shuffleRowGroups,
            ClipGeometry geometry) {
        this(rank, ranks, ranks, batchSize, seed, prefetchBatches, shuffleRowGroups, geometry);
    }

    public LoaderOptions {
        if (ranks < 1) {
            throw invalid("ranks", ranks, "must be at least 1");
        }
        if (rank < 0 || rank >= ranks) {
            throw invalid("rank", rank, "must be in [0, ranks = " + ranks + ")");
        }
        if (slots < ranks || slots % ranks != 0) {
            throw invalid("ranks", ranks, "must divide the " + slots + " micro-batches of a step");
        }
        if (batchSize < 1) {
            throw invalid("batch-size", batchSize, "must be at least 1");
        }
        if (prefetchBatches < 1) {
            throw invalid("prefetch-batches", prefetchBatches, "must be at least 1");
        }
        if (shuffleRowGroups < 1) {
            throw invalid("shuffle-row-groups", shuffleRowGroups, "must be at least 1");
        }
        if (geometry == null) {
            throw new IllegalArgumentException("Missing configuration geometry");
        }
    }

    /** Micro-batches this rank runs per step: slots / ranks. */
    public int slotsPerRank() {
        return slots / ranks;
    }

    /** The first of this rank's slots. */
    public int firstSlot() {
        return rank * slotsPerRank();
    }

    private static IllegalArgumentException invalid(String key, Object value, String reason) {
        return new IllegalArgumentException("Invalid value " + value + " for configuration " + key + ": " + reason);
    }
}
