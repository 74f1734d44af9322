package io.hicmae.runtime.data;

/** Derives independent 64-bit seeds from tuples such as (seed, epoch, rank, step), with SplitMix64's finaliser. */
public final class Seeds {
    /** Tags keep the streams of different uses apart when their other parts coincide. */
    static final long EPOCH_ORDER = 0x6f72646572L;
    static final long SHUFFLE_WINDOW = 0x77696e646f77L;
    static final long STEP = 0x73746570L;

    private Seeds() {}

    /** A seed for the tuple; tag the first part to keep one use's streams apart from another's. */
    public static long mix(long... parts) {
        long h = 0x9E3779B97F4A7C15L;
        for (long p : parts) {
            h = finalise(h ^ finalise(p + 0x9E3779B97F4A7C15L));
        }
        return h;
    }

    private static long finalise(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
