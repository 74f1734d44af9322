package io.hicmae.runtime.data;

import io.hicmae.runtime.config.HicmaeConfig;
import org.apache.hadoop.conf.Configuration;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * One rank's pre-training micro-batches, prepared ahead on a background thread: the thread reads the clips of this
 * rank's slots ({@link LoaderOptions}) in the {@link ClipIndex#epochOrder epoch order}, draws the crop windows, gains
 * and masks, and queues {@link HostBatch}es (at most {@link LoaderOptions#prefetchBatches()}) in the form the
 * {@link Preprocessing} asks for ({@link BatchAssembler}):
 * <ul>
 *   <li>{@link Preprocessing#HOST} (the CPU device): the thread also crops, normalises and computes the fbank with
 *       the gain augmentation, in Java, overlapped with the step;
 *   <li>{@link Preprocessing#DEVICE} (a GPU): the thread does I/O only, copying the stored uint8 frames and int16
 *       PCM into reusable direct buffers ({@link BatchBuffers}, {@code prefetchBatches + 2} batches allocated once);
 *       crop, normalisation and fbank run on the step's device ({@link DevicePreprocessor}). Such a batch lends its
 *       buffers until the next {@code next}, {@code seek} or {@code close}.
 * </ul>
 * The training thread takes the batches with {@link #next(Duration)} and makes the model inputs itself with
 * {@link HostBatch#toPretrainBatch}.
 *
 * <p>Batches run through the epochs without end: epoch e, steps 0 .. {@link #stepsPerEpoch()} - 1, then epoch e + 1;
 * within a step, one micro-batch per slot of this rank, in slot order. Every random draw of the micro-batch of slot j
 * at step s of epoch e comes from a generator seeded by (seed, e, j, s), never by the rank, so a run resumed with
 * {@link #seek(int, int)} at step k, on any number of ranks dividing the slots, sees exactly the micro-batches an
 * uninterrupted run sees from step k.
 *
 * <p>Memory: the clips of about {@code 2 shuffleRowGroups} row groups (only this rank's rows), plus
 * {@code prefetchBatches + 1} batches of model-input floats (host form) or {@code prefetchBatches + 2} batches of
 * stored bytes in direct memory (device form, B x 1.3 MB each at the stored geometry). A row group is loaded on the
 * first clip that needs it and dropped after the last ({@link PlannedClipReader}).
 *
 * <p>Errors of the background thread (a failed read, a clip breaking its geometry) surface on the next
 * {@link #next(Duration)} call, naming the file, and again on every later call until {@link #seek(int, int)}.
 * Not thread-safe: one consumer thread calls {@code next}, {@code seek} and {@code close}.
 */
public final class PrefetchingLoader implements AutoCloseable {

    private static final Logger LOG = LogManager.getLogger(PrefetchingLoader.class);
    /**
     * How long {@link #close()} and {@link #seek} wait for the interrupted thread to end. A read blocked in a file
     * system that ignores interrupts may outlast it; the daemon thread is then left to end with that read.
     */
    private static final Duration STOP_WAIT = Duration.ofSeconds(5);

    private final ClipIndex index;
    private final LoaderOptions options;
    private final Configuration conf;
    private final BatchAssembler assembler;
    private final Preprocessing preprocessing;
    private final int stepsPerEpoch;

    private int epoch;
    private int step;
    /** Micro-batches of the current step already returned (0 .. slotsPerRank - 1). */
    private int part;
    private Producer producer;
    private HostBatch lent;
    private IOException failure;
    private long lastWaitNanos;
    private long totalWaitNanos;
    private boolean closed;

    /** A loader whose thread preprocesses on the host ({@link Preprocessing#HOST}, for the CPU device). */
    public PrefetchingLoader(ClipIndex index, HicmaeConfig config, LoaderOptions options, Configuration conf) {
        this(index, config, options, conf, Preprocessing.HOST);
    }

    /**
     * A loader positioned at epoch 0, step 0; its thread starts on the first {@link #next(Duration)}.
     *
     * @param index the dataset's index, the same on every rank
     * @param config the model's input geometry: frame count and side, fbank frames and mel bins
     * @param conf the Hadoop configuration for the dataset's file system
     * @param preprocessing where the batches' crop, normalisation and fbank run ({@link Preprocessing#forDevice} of
     *     the step's device)
     */
    public PrefetchingLoader(ClipIndex index, HicmaeConfig config, LoaderOptions options, Configuration conf,
            Preprocessing preprocessing) {
        this.assembler = new BatchAssembler(config, options.geometry(), true, true);
        this.index = index;
        this.options = options;
        this.conf = conf;
        this.preprocessing = preprocessing;
        this.stepsPerEpoch = index.stepsPerEpoch(options.slots(), options.batchSize());
        if (stepsPerEpoch == 0) {
            throw new IllegalArgumentException(index.dataset() + " holds " + index.clipCount() + " clips, fewer than "
                    + options.slots() + " micro-batches x batch-size " + options.batchSize() + " for one step");
        }
    }

    /** floor(N / (slots batch)): the same on every rank. */
    public int stepsPerEpoch() {
        return stepsPerEpoch;
    }

    /** Epoch of the batch the next {@link #next(Duration)} returns. */
    public int epoch() {
        return epoch;
    }

    /** Step within its epoch of the batch the next {@link #next(Duration)} returns. */
    public int step() {
        return step;
    }

    /**
     * Moves to step {@code stepInEpoch} of {@code epoch}, dropping prepared batches and a pending error; the thread
     * restarts there on the next {@link #next(Duration)}.
     */
    public void seek(int epoch, int stepInEpoch) {
        ensureOpen();
        if (epoch < 0) {
            throw new IllegalArgumentException("Invalid value " + epoch + " for epoch: must be at least 0");
        }
        if (stepInEpoch < 0 || stepInEpoch >= stepsPerEpoch) {
            throw new IllegalArgumentException("Invalid value " + stepInEpoch + " for step: must be in [0, "
                    + stepsPerEpoch + ")");
        }
        returnLent();
        stopProducer();
        this.epoch = epoch;
        this.step = stepInEpoch;
        this.part = 0;
        this.failure = null;
    }

    /**
     * The next batch, waiting at most {@code timeout} for it.
     *
     * @throws IOException when the background thread failed (the message names the file), or when no batch came
     *     within the timeout (the message names the file being read, if any)
     */
    public HostBatch next(Duration timeout) throws IOException {
        ensureOpen();
        returnLent();
        if (failure != null) {
            throw new IOException(failure.getMessage(), failure);
        }
        if (producer == null) {
            producer = new Producer(epoch, step);
        }
        long start = System.nanoTime();
        Object item;
        try {
            item = producer.queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("rank " + options.rank() + ": interrupted waiting for epoch " + epoch
                    + " step " + step);
        } finally {
            lastWaitNanos = System.nanoTime() - start;
            totalWaitNanos += lastWaitNanos;
        }
        if (item == null) {
            String reading = producer.reading();
            throw new IOException("rank " + options.rank() + ": no batch for epoch " + epoch + " step " + step
                    + " within " + timeout + (reading != null ? "; still reading " + reading
                            : "; the loader thread is still preparing it"));
        }
        if (item instanceof Failure f) {
            failure = new IOException("rank " + options.rank() + ": loading epoch " + f.epoch + " step " + f.step
                    + " failed: " + f.cause.getMessage(), f.cause);
            throw failure;
        }
        if (++part == options.slotsPerRank()) {
            part = 0;
            if (++step == stepsPerEpoch) {
                step = 0;
                epoch++;
            }
        }
        lent = (HostBatch) item;
        return lent;
    }

    /** Time the last {@link #next(Duration)} call waited for its batch. */
    public Duration lastWait() {
        return Duration.ofNanos(lastWaitNanos);
    }

    /** Time all {@link #next(Duration)} calls waited, in total. */
    public Duration totalWait() {
        return Duration.ofNanos(totalWaitNanos);
    }

    /** Stops the background thread (interrupting any wait or read) and drops prepared batches; returns promptly. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            returnLent();
            stopProducer();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("loader of rank " + options.rank() + " is closed");
        }
    }

    /** Releases the batch the consumer holds: its buffers go back to the loader thread. */
    private void returnLent() {
        if (lent != null) {
            lent.release();
            lent = null;
        }
    }

    private void stopProducer() {
        Producer p = producer;
        producer = null;
        if (p == null) {
            return;
        }
        p.stopping = true;
        p.thread.interrupt();
        try {
            p.thread.join(STOP_WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return;
        }
        if (p.thread.isAlive()) {
            LOG.warn("rank {}: loader thread still busy after {}{}; leaving it to end on its own", options.rank(),
                    STOP_WAIT, p.reading() != null ? " reading " + p.reading() : "");
        }
    }

    /** A failure of the background thread, queued after the batches that preceded it. */
    private record Failure(int epoch, int step, Throwable cause) {}

    /** The background thread: reads, crops and prepares batches from a start position on. */
    private final class Producer implements Runnable {
        final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(options.prefetchBatches());
        /** Device form: the queued batches, the one being filled and the one the consumer holds (made on first use). */
        private BatchBuffers.Pool buffers;
        final Thread thread;
        final int startEpoch;
        final int startStep;
        /** The reader once the thread runs; asked for the row group being read, for timeout messages. */
        volatile PlannedClipReader shards;
        /** Set before the interrupt of close() or seek(): what fails from then on is not reported. */
        volatile boolean stopping;

        Producer(int startEpoch, int startStep) {
            this.startEpoch = startEpoch;
            this.startStep = startStep;
            this.thread = new Thread(this, "clip-loader-rank-" + options.rank());
            thread.setDaemon(true);
            thread.start();
        }

        /** The file and row group being read, or null between reads. */
        String reading() {
            PlannedClipReader r = shards;
            return r == null ? null : r.reading();
        }

        @Override
        public void run() {
            int e = startEpoch;
            int s = startStep;
            try (PlannedClipReader shards = new PlannedClipReader(index, conf, options.geometry())) {
                this.shards = shards;
                for (;; e++, s = 0) {
                    int from = s;
                    shards.plan(index.servingOrder(options.seed(), e, options.firstSlot(), options.slotsPerRank(),
                            options.slots(), options.batchSize(), from, stepsPerEpoch, options.shuffleRowGroups()));
                    for (; s < stepsPerEpoch; s++) {
                        for (int k = 0; k < options.slotsPerRank(); k++) {
                            queue.put(batch(e, s, k, from, shards));
                        }
                    }
                }
            } catch (Throwable t) {
                if (!stopping) {
                    try {
                        queue.put(new Failure(e, s, t));
                    } catch (InterruptedException stopped) {
                        // close() or seek() while the consumer was not taking
                    }
                }
            }
        }

        private BatchBuffers.Pool buffers() {
            if (buffers == null) {
                buffers = new BatchBuffers.Pool(options.geometry(), options.batchSize(), options.prefetchBatches() + 2);
            }
            return buffers;
        }

        /** The micro-batch of this rank's k-th slot at step s, from the plan made at step {@code from}. */
        private HostBatch batch(int e, int s, int k, int from, PlannedClipReader shards) throws IOException,
                InterruptedException {
            int b = options.batchSize();
            int slot = options.firstSlot() + k;
            SplittableRandom rng = new SplittableRandom(Seeds.mix(Seeds.STEP, options.seed(), e, slot, s));
            int first = ((s - from) * options.slotsPerRank() + k) * b;
            BatchAssembler.ClipSource clips = i -> shards.get(first + i);
            if (preprocessing == Preprocessing.HOST) {
                return assembler.prepareOnHost(b, clips, rng);
            }
            BatchBuffers into = buffers().take();
            try {
                return assembler.prepare(into, clips, rng);
            } catch (IOException | RuntimeException err) {
                into.release();
                throw err;
            }
        }
    }
}
