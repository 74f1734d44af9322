package io.hicmae.driver.spark;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.IntPredicate;
import java.util.function.IntSupplier;

/**
 * The driver's watch over the task slots while an elastic attempt runs below world-size: every {@code poll} it
 * counts the slots, and when they allow a larger world size that fits ({@link #target}), it publishes a grow
 * request for the attempt ({@link BarrierStage.Grow}); the ranks act on it at their next step-boundary agreement.
 * A request is published again only for a still larger size. Publishing never fails the stage: an error is logged
 * and retried at the next poll.
 */
final class GrowWatch implements AutoCloseable {

    private static final Logger LOG = LogManager.getLogger(GrowWatch.class);

    private final BarrierStage.Settings settings;
    private final int attempt;
    private final int world;
    private final IntSupplier slots;
    private final IntPredicate fits;
    private final BarrierStage.Grow grow;
    private final ScheduledExecutorService timer;
    private volatile int published;

    private GrowWatch(BarrierStage.Settings s, int attempt, int world, IntSupplier slots, IntPredicate fits,
            BarrierStage.Grow grow, long pollMillis) {
        this.settings = s;
        this.attempt = attempt;
        this.world = world;
        this.slots = slots;
        this.fits = fits;
        this.grow = grow;
        this.published = world;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hicmae-grow-watch");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::check, 0, pollMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * Watches attempt {@code attempt} on {@code world} ranks, or does nothing (returns null) when the stage is not
     * elastic or already runs on world-size ranks.
     */
    static GrowWatch start(BarrierStage.Settings s, int attempt, int world, IntSupplier slots, IntPredicate fits,
            BarrierStage.Grow grow, long pollMillis) {
        if (!s.elastic() || world >= s.worldSize() || grow == null) {
            return null;
        }
        return new GrowWatch(s, attempt, world, slots, fits, grow, pollMillis);
    }

    /**
     * The world size a stage running on {@code world} ranks should grow to with {@code slots} task slots: the
     * largest size above {@code world}, at most world-size and the slots, that {@code fits}; else {@code world}.
     */
    static int target(BarrierStage.Settings s, int world, int slots, IntPredicate fits) {
        for (int w = Math.min(slots, s.worldSize()); w > world; w--) {
            if (fits.test(w)) {
                return w;
            }
        }
        return world;
    }

    /** Whether a grow request has been published for the attempt. */
    boolean published() {
        return published > world;
    }

    private void check() {
        try {
            int free = slots.getAsInt();
            int to = target(settings, world, free, fits);
            if (to > published) {
                String why = "the cluster offers " + free + " task slot(s) again";
                grow.request(attempt, world, to, why);
                published = to;
                LOG.info("attempt {}: asked the ranks to grow from {} to {} at their next step boundary ({})",
                        attempt, world, to, why);
            }
        } catch (Exception e) { // a slot count or zoo write that fails now may work at the next poll
            LOG.warn("attempt {}: could not check or publish a grow request: {}", attempt, e.toString());
        }
    }

    @Override
    public void close() {
        timer.shutdownNow();
        try {
            timer.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
