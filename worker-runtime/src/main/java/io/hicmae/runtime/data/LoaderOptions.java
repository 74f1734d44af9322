package io.hicmae.runtime.data;

/**
 * One rank's data-loading settings, as an executor receives them (the driver's typed config validates user input and
 * builds this).
 *
 * @param rank this rank, in [0, ranks)
 * @param ranks n, the ranks sharing the dataset
 * @param batchSize clips per step on this rank
 * @param seed the run's seed; with the epoch it fixes every rank's clip order, and with the step every augmentation
 * @param prefetchBatches batches prepared ahead of the consumer (the queue's capacity); memory grows by one batch of
 *     host arrays each
 * @param shuffleRowGroups row groups whose clips are shuffled together (see {@link ClipIndex}); memory holds about
 *     twice this many row groups of decoded clips
 * @param geometry the stored clips' shape, checked on every row
 */
public record LoaderOptions(int rank, int ranks, int batchSize, long seed, int prefetchBatches, int shuffleRowGroups,
        ClipGeometry geometry) {

    public LoaderOptions {
        if (ranks < 1) {
            throw invalid("ranks", ranks, "must be at least 1");
        }
        if (rank < 0 || rank >= ranks) {
            throw invalid("rank", rank, "must be in [0, ranks = " + ranks + ")");
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

    private static IllegalArgumentException invalid(String key, Object value, String reason) {
        return new IllegalArgumentException("Invalid value " + value + " for configuration " + key + ": " + reason);
    }
}
