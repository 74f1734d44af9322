package io.hicmae.driver.spark;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Reads a rank's micro-batches ahead on a background thread, so that storage reads overlap the step: for a job whose
 * loader has no prefetching of its own (fine-tuning; pre-training's {@code PrefetchingLoader} prepares on its own
 * thread). The producer walks the steps from the position {@link #seek} set, {@code share} micro-batches a step,
 * calling {@link Source#read} (only ever from its thread, so a source may keep reader state), and keeps at most
 * {@code depth} ready. A read that fails is reported by the {@link #next} that would have returned it.
 *
 * @param <B> one micro-batch in host memory
 */
public final class MicroBatchPrefetcher<B> implements AutoCloseable {

    /** Reads micro-batch {@code part} (0 .. share-1) of this rank's share of step {@code step}. */
    @FunctionalInterface
    public interface Source<B> {
        B read(long step, int part) throws IOException;
    }

    private record Item<B>(long step, int part, B batch, Throwable failure) {}

    private final String name;
    private final Source<B> source;
    private final int share;
    private final long totalSteps;
    private final int depth;
    private Producer producer;
    private long nextStep;
    private int nextPart;

    /**
     * @param name names the thread ({@code <name>-prefetch})
     * @param share micro-batches per step
     * @param totalSteps the steps of the run: the producer stops after the last
     * @param depth micro-batches kept ready (at least 1)
     */
    public MicroBatchPrefetcher(String name, Source<B> source, int share, long totalSteps, int depth) {
        if (share < 1 || depth < 1 || totalSteps < 0) {
            throw new IllegalArgumentException("Invalid prefetch: share " + share + ", depth " + depth
                    + ", total steps " + totalSteps);
        }
        this.name = name;
        this.source = source;
        this.share = share;
        this.totalSteps = totalSteps;
        this.depth = depth;
    }

    /** Serves from step {@code step} on: what was read ahead is dropped. */
    public void seek(long step) {
        stop();
        nextStep = step;
        nextPart = 0;
        producer = new Producer(step);
    }

    /**
     * The next micro-batch, which must belong to {@code step}.
     *
     * @throws IOException the read's own failure, or none within {@code timeout}
     */
    public B next(long step, Duration timeout) throws IOException {
        if (producer == null) {
            seek(step);
        }
        if (step != nextStep) {
            throw new IllegalStateException("asked for step " + step + " but the next micro-batch is of step "
                    + nextStep + " (seek first)");
        }
        Item<B> item;
        try {
            item = producer.queue.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while waiting for step " + step + "'s data");
        }
        if (item == null) {
            throw new IOException("no micro-batch of step " + step + " within " + timeout.toSeconds() + " s");
        }
        if (item.failure() != null) {
            Throwable t = item.failure();
            if (t instanceof IOException io) {
                throw io;
            }
            throw new IOException("reading micro-batch " + item.part() + " of step " + item.step() + ": " + t, t);
        }
        if (++nextPart == share) {
            nextPart = 0;
            nextStep++;
        }
        return item.batch();
    }

    private void stop() {
        if (producer != null) {
            producer.stopping = true;
            producer.thread.interrupt();
            try {
                producer.thread.join(TimeUnit.SECONDS.toMillis(30));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            producer = null;
        }
    }

    @Override
    public void close() {
        stop();
    }

    private final class Producer implements Runnable {
        final BlockingQueue<Item<B>> queue = new ArrayBlockingQueue<>(depth);
        final Thread thread;
        final long from;
        volatile boolean stopping;

        Producer(long from) {
            this.from = from;
            this.thread = new Thread(this, name + "-prefetch");
            thread.setDaemon(true);
            thread.start();
        }

        @Override
        public void run() {
            long step = from;
            int part = 0;
            try {
                for (; step < totalSteps; step++) {
                    for (part = 0; part < share; part++) {
                        queue.put(new Item<>(step, part, source.read(step, part), null));
                    }
                }
            } catch (InterruptedException e) {
                // seek() or close()
            } catch (Throwable t) {
                if (!stopping) {
                    try {
                        queue.put(new Item<>(step, part, null, t));
                    } catch (InterruptedException stopped) {
                        // closed while the consumer was not taking
                    }
                }
            }
        }
    }
}
