package io.hicmae.runtime.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipGeometry;
import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.runtime.data.HostBatch;
import io.hicmae.runtime.data.LoaderOptions;
import io.hicmae.runtime.data.PrefetchingLoader;
import io.hicmae.runtime.data.Preprocessing;
import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Host-side throughput of the clip loader ({@code hicmae bench loader}): N {@link PrefetchingLoader}s, as ranks 0..N-1
 * of the dataset, each with its own loader thread, drained by one consumer thread each for a fixed time after a
 * warm-up. The loaders prepare batches in the given {@link Preprocessing} form: {@code DEVICE}, I/O only (what a GPU
 * rank's loader does), or {@code HOST}, with the crop, normalisation and fbank in Java (a CPU rank's loader). By
 * default the consumer only takes the batches (what the host delivers); with {@code preprocess} it also turns each
 * into model inputs on {@code device} ({@link HostBatch#toPretrainBatch}), to show that cost apart.
 */
public final class LoaderBenchmark {

    /** Batches per loader at least before the clock starts (JIT, first row groups). */
    private static final int WARMUP_BATCHES = 2;
    private static final Duration WAIT = Duration.ofMinutes(2);

    /**
     * @param clips clips taken in the timed window, all loaders
     * @param bytes stored bytes (frames + PCM) of those clips
     * @param preprocessMs total ms the consumers spent in device preprocessing (0 without it)
     * @param loaderCpuSeconds CPU time of the loader threads in the timed window (-1 where the JVM cannot tell)
     * @param maxWaitMs the longest a consumer waited for one batch in the timed window (the loader reads a window of
     *     row groups whole before serving its first clip, so waits bunch where such a window starts)
     */
    public record Result(String preset, int batch, int threads, Preprocessing where, boolean preprocess, long clips,
            long bytes, double seconds, double preprocessMs, double loaderCpuSeconds, double maxWaitMs) {

        public double clipsPerSecond() {
            return clips / seconds;
        }

        public void print(PrintStream out) {
            out.printf("loader: preset %s, batch %d, %d loader thread(s), %s%s: %d clips in %.1f s%n", preset, batch,
                    threads, where == Preprocessing.DEVICE ? "I/O only (preprocessing device)"
                            : "crop, normalisation and fbank on the loader thread (preprocessing host)",
                    preprocess ? " + model inputs made on the consumer" : "", clips, seconds);
            if (preprocess) {
                out.printf("%s: %.1f ms per batch on the consumer%n", where == Preprocessing.DEVICE
                        ? "device preprocessing" : "NDArray creation", preprocessMs / Math.max(1, clips / batch));
            }
            out.printf("host: %.0f MB/s of %s%n", bytes / seconds / 1e6,
                    where == Preprocessing.DEVICE ? "stored frames + PCM" : "model-input floats");
            if (loaderCpuSeconds > 0) {
                out.printf("loader threads: %.1f CPU s in %.1f s, %.1f clips per loader CPU second (load-independent)%n",
                        loaderCpuSeconds, seconds, clips / loaderCpuSeconds);
            }
            out.printf("longest wait for one batch: %.0f ms%n", maxWaitMs);
            out.printf("loader: %.1f clips/s per thread, total %.1f clips/s%n", clipsPerSecond() / threads,
                    clipsPerSecond());
        }
    }

    private LoaderBenchmark() {}

    /** Runs the benchmark on the dataset at {@code dataUri} (a finished prep output). */
    /**
     * @param warmupSeconds untimed seconds first (and at least {@value #WARMUP_BATCHES} batches), so the JIT has
     *     compiled the read path: the first passes over the data run at a fraction of the steady rate
     */
    public static Result run(String dataUri, HicmaeConfig config, int batch, int threads, double seconds,
            double warmupSeconds, Preprocessing where, boolean preprocess, Device device, Configuration conf)
            throws IOException, InterruptedException {
        if (batch < 1 || threads < 1 || !(seconds > 0) || !(warmupSeconds >= 0)) {
            throw new IllegalArgumentException("Invalid value for configuration batch/threads/seconds: batch >= 1, "
                    + "threads >= 1, seconds > 0, warm-up >= 0 (got " + batch + ", " + threads + ", " + seconds + ", "
                    + warmupSeconds + ")");
        }
        ClipIndex index = ClipIndex.build(dataUri, conf);
        List<PrefetchingLoader> loaders = new ArrayList<>();
        try {
            for (int r = 0; r < threads; r++) {
                loaders.add(new PrefetchingLoader(index, config,
                        new LoaderOptions(r, threads, batch, 1, 2, 4, ClipGeometry.STORED), conf, where));
            }
            long[] clips = new long[threads];
            long[] bytes = new long[threads];
            double[] prepMs = new double[threads];
            double[] maxWait = new double[threads];
            AtomicReference<Throwable> error = new AtomicReference<>();
            long deadline = System.nanoTime() + WAIT.toNanos() + (long) ((warmupSeconds + seconds) * 1e9)
                    + WAIT.toNanos();
            long[] start = new long[1];
            Thread[] consumers = new Thread[threads];
            double[] cpu = new double[2];
            java.util.concurrent.CyclicBarrier warm = new java.util.concurrent.CyclicBarrier(threads, () -> {
                cpu[0] = loaderCpuSeconds();
                start[0] = System.nanoTime();
            });
            for (int r = 0; r < threads; r++) {
                int rank = r;
                consumers[r] = new Thread(() -> {
                    try (NDManager m = preprocess ? NDManager.newBaseManager(device) : null) {
                        PrefetchingLoader l = loaders.get(rank);
                        long warmEnd = System.nanoTime() + (long) (warmupSeconds * 1e9);
                        for (int i = 0; i < WARMUP_BATCHES || System.nanoTime() < warmEnd; i++) {
                            take(l, m);
                        }
                        warm.await(WAIT.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
                        long end = start[0] + (long) (seconds * 1e9);
                        while (System.nanoTime() < end) {
                            long t0 = System.nanoTime();
                            HostBatch b = take(l, m);
                            maxWait[rank] = Math.max(maxWait[rank], l.lastWait().toNanos() / 1e6);
                            prepMs[rank] += m == null ? 0 : (System.nanoTime() - t0) / 1e6;
                            clips[rank] += b.size();
                            bytes[rank] += b.bytes();
                        }
                    } catch (Throwable t) {
                        error.compareAndSet(null, t);
                    }
                }, "loader-bench-consumer-" + r);
                consumers[r].start();
            }
            for (Thread t : consumers) {
                t.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
                if (t.isAlive()) {
                    throw new IOException(t.getName() + " did not finish by its deadline");
                }
            }
            if (error.get() != null) {
                throw new IOException("loader benchmark failed: " + error.get(), error.get());
            }
            double s = (System.nanoTime() - start[0]) / 1e9;
            cpu[1] = loaderCpuSeconds();
            long c = 0;
            long by = 0;
            double ms = 0;
            double waited = 0;
            for (int r = 0; r < threads; r++) {
                waited = Math.max(waited, maxWait[r]);
                c += clips[r];
                by += bytes[r];
                ms += prepMs[r];
            }
            return new Result(config.name(), batch, threads, where, preprocess, c, by, s, ms,
                    cpu[0] < 0 || cpu[1] < 0 ? -1 : cpu[1] - cpu[0], waited);
        } finally {
            loaders.forEach(PrefetchingLoader::close);
        }
    }

    /** CPU seconds of the live loader threads ({@code clip-loader-rank-*}), or -1 when not measurable. */
    private static double loaderCpuSeconds() {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        if (!mx.isThreadCpuTimeSupported()) {
            return -1;
        }
        long total = 0;
        for (java.lang.management.ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (t != null && t.getThreadName().startsWith("clip-loader-rank-")) {
                long ns = mx.getThreadCpuTime(t.getThreadId());
                if (ns < 0) {
                    return -1;
                }
                total += ns;
            }
        }
        return total / 1e9;
    }

    /** The next batch; with a manager, also its model inputs (closed at once). */
    private static HostBatch take(PrefetchingLoader l, NDManager m) throws IOException {
        HostBatch b = l.next(WAIT);
        if (m != null) {
            try (NDManager step = m.newSubManager()) {
                b.toPretrainBatch(step).video().getFloat(0, 0, 0, 0, 0); // waits for asynchronous devices
            }
        }
        return b;
    }
}
