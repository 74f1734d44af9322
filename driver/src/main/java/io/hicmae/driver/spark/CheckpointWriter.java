package io.hicmae.driver.spark;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.train.TrainingState;
import io.hicmae.zoo.ModelZoo;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Rank 0's checkpoints. Asynchronous (the default): {@link #submit} only copies the state to host memory
 * ({@link HostSnapshot}) on the training thread and returns; one background thread commits it through
 * {@link RunCheckpoints#write} (and so through the zoo's verification and fencing), one upload in flight at most,
 * so commits happen in step order. A failed upload is retried ({@code attempts} in all, with back-off) and then
 * reported: the next {@link #submit} or {@link #flush} throws, naming the step. A new snapshot waits for the upload
 * before it (the host buffers are reused, and the in-flight bound holds). Synchronous: {@link #submit} writes on the
 * calling thread, as before. Every write is fenced by the lease epoch of the task thread that made the writer
 * ({@link RunCheckpoints#taskLeaseEpoch}). Not thread-safe: the training thread calls everything.
 */
final class CheckpointWriter implements AutoCloseable {

    private static final Logger LOG = LogManager.getLogger(CheckpointWriter.class);

    private final ModelZoo zoo;
    private final String runId;
    /** The lease epoch of the task that made this writer: the upload thread is no task thread. */
    private final java.util.OptionalLong epoch;
    private final boolean async;
    private final int attempts;
    private final Duration backoff;
    private final HostSnapshot snapshot = new HostSnapshot();
    private final ExecutorService thread;
    private Future<?> inFlight;
    private long inFlightStep = -1;

    /**
     * @param async whether uploads run in the background
     * @param attempts tries per checkpoint before it is reported failed, at least 1
     * @param backoff wait after the first failed try, doubled after each further one
     */
    CheckpointWriter(ModelZoo zoo, String runId, boolean async, int attempts, Duration backoff) {
        this.zoo = zoo;
        this.runId = runId;
        this.epoch = RunCheckpoints.taskLeaseEpoch();
        this.async = async;
        this.attempts = Math.max(1, attempts);
        this.backoff = backoff;
        this.thread = async ? Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "checkpoint-writer-" + runId);
            t.setDaemon(true);
            return t;
        }) : null;
    }

    /**
     * Checkpoints {@code live} with its metadata and the metrics lines so far. Asynchronous: waits for the upload
     * before (at most {@code wait}), snapshots, queues, returns.
     *
     * @throws IOException when the previous upload failed after its retries, or did not end within {@code wait}
     */
    void submit(TrainingState live, Map<String, String> metadata, List<String> metrics, Duration wait)
            throws IOException {
        if (!async) {
            RunCheckpoints.write(zoo, runId, epoch, live, metadata, metrics);
            return;
        }
        flush(wait);
        snapshot.take(live);
        List<String> lines = List.copyOf(metrics);
        Map<String, String> md = Map.copyOf(metadata);
        long step = snapshot.step();
        inFlightStep = step;
        inFlight = thread.submit(() -> {
            upload(lines, md, step);
            return null;
        });
    }

    /** Whether no upload is in flight (it may have failed: {@link #flush} says). */
    boolean idle() {
        return inFlight == null || inFlight.isDone();
    }

    /**
     * Waits until the upload in flight, if any, is committed.
     *
     * @throws IOException when it failed after its retries (naming the step), or did not end within {@code wait}
     */
    void flush(Duration wait) throws IOException {
        Future<?> f = inFlight;
        if (f == null) {
            return;
        }
        try {
            f.get(wait.toNanos(), TimeUnit.NANOSECONDS);
            inFlight = null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for the checkpoint of step " + inFlightStep);
        } catch (TimeoutException e) {
            throw new IOException("the checkpoint of step " + inFlightStep + " of run " + runId
                    + " was not committed within " + wait);
        } catch (ExecutionException e) {
            inFlight = null;
            Throwable cause = e.getCause();
            throw new IOException("the checkpoint of step " + inFlightStep + " of run " + runId + " failed after "
                    + attempts + " attempt(s): " + cause.getMessage(), cause);
        }
    }

    private void upload(List<String> metrics, Map<String, String> metadata, long step) throws IOException,
            InterruptedException {
        long wait = backoff.toMillis();
        for (int attempt = 1;; attempt++) {
            try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
                RunCheckpoints.write(zoo, runId, epoch, snapshot.toState(m), metadata, metrics);
                return;
            } catch (IOException | RuntimeException e) {
                if (attempt >= attempts || Thread.currentThread().isInterrupted()) {
                    throw e;
                }
                LOG.warn("checkpoint of step {} of run {}: attempt {} of {} failed, retrying in {} ms: {}", step,
                        runId, attempt, attempts, wait, e.toString());
                Thread.sleep(wait);
                wait *= 2;
            }
        }
    }

    /**
     * Ends the writer. After a normal end or a failure of the rank's own, the upload in flight is let finish (at
     * most {@code wait}) so that the last snapshot taken is not lost; after an interrupt (the stage was cancelled)
     * it is abandoned at once. Never throws: the rank's own error, if any, is the one to report.
     */
    void close(boolean cancelled, Duration wait) {
        if (thread == null) {
            return;
        }
        if (!cancelled && inFlight != null) {
            try {
                flush(wait);
            } catch (IOException e) {
                LOG.warn("run {}: {}", runId, e.getMessage());
            }
        }
        thread.shutdownNow();
    }

    @Override
    public void close() {
        close(true, Duration.ZERO);
    }
}
