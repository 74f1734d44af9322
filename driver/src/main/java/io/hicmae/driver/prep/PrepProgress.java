package io.hicmae.driver.prep;

import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.spark.Success$;
import org.apache.spark.scheduler.AccumulableInfo;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorMetricsUpdate;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.util.LongAccumulator;
import scala.Tuple4;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Progress of the decode stage on the driver's console. Counts come from three accumulators: from executor
 * heartbeats while tasks run, and from task ends; a failed task's counts are dropped. A daemon thread prints one
 * line per interval. It also sums the CPU time of the successful tasks, the cost measure of the benchmark.
 */
final class PrepProgress extends SparkListener implements AutoCloseable {

    private final long videos;
    private final long[] ids; // accumulator ids: videos done, clips, quarantined
    private final Map<Long, long[]> perTask = new HashMap<>();
    private long taskCpuNanos;
    private final Clock clock;
    private final long startMs;
    private final ScheduledExecutorService printer;

    /**
     * Starts printing {@link #line()} to {@code out} every {@code intervalS} seconds, for {@code videos} videos
     * whose tasks add to the accumulators {@code done}, {@code clips} and {@code quarantined}.
     */
    PrepProgress(long videos, LongAccumulator done, LongAccumulator clips, LongAccumulator quarantined, long intervalS,
            Clock clock, Consumer<String> out) {
        this.videos = videos;
        this.ids = new long[] {done.id(), clips.id(), quarantined.id()};
        this.clock = clock;
        this.startMs = clock.millis();
        this.printer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hicmae-prep-progress");
            t.setDaemon(true);
            return t;
        });
        printer.scheduleAtFixedRate(() -> out.accept(line()), intervalS, intervalS, TimeUnit.SECONDS);
    }

    /** The current progress line. */
    synchronized String line() {
        long[] sum = new long[3];
        for (long[] v : perTask.values()) {
            for (int i = 0; i < 3; i++) {
                sum[i] += v[i];
            }
        }
        return format(sum[0], videos, sum[1], sum[2], (clock.millis() - startMs) / 1000.0);
    }

    /** E.g. {@code prep: 120/1000 videos (12.0%), 350 clips, 3 quarantined, 41.7 clips/s, ETA 0:03:31}. */
    static String format(long done, long total, long clips, long quarantined, double seconds) {
        double rate = seconds > 0 ? clips / seconds : 0;
        String eta = done == 0 || seconds <= 0 ? "unknown" : hms((long) ((total - done) * seconds / done));
        return String.format(Locale.ROOT, "prep: %d/%d videos (%.1f%%), %d clips, %d quarantined, %.1f clips/s, ETA %s",
                done, total, total == 0 ? 100.0 : 100.0 * done / total, clips, quarantined, rate, eta);
    }

    private static String hms(long s) {
        return String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60);
    }

    private void update(long taskId, scala.collection.Iterable<AccumulableInfo> infos) {
        long[] v = perTask.computeIfAbsent(taskId, k -> new long[3]);
        for (AccumulableInfo info : CollectionConverters.asJava(infos)) {
            for (int i = 0; i < 3; i++) {
                if (info.id() == ids[i] && info.update().isDefined()) {
                    v[i] = ((Number) info.update().get()).longValue();
                }
            }
        }
    }

    /** CPU seconds the successful tasks spent in their own threads (decode, encode, compress, write). */
    synchronized double taskCpuSeconds() {
        return taskCpuNanos / 1e9;
    }

    @Override
    public synchronized void onExecutorMetricsUpdate(SparkListenerExecutorMetricsUpdate update) {
        List<Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>>> running =
                CollectionConverters.asJava(update.accumUpdates());
        for (Tuple4<Object, Object, Object, scala.collection.immutable.Seq<AccumulableInfo>> t : running) {
            update((Long) t._1(), t._4());
        }
    }

    @Override
    public synchronized void onTaskEnd(SparkListenerTaskEnd end) {
        long taskId = end.taskInfo().taskId();
        if (end.reason() == Success$.MODULE$) {
            update(taskId, end.taskInfo().accumulables());
            if (end.taskMetrics() != null) {
                taskCpuNanos += end.taskMetrics().executorCpuTime();
            }
        } else {
            perTask.remove(taskId);
        }
    }

    @Override
    public void close() {
        printer.shutdownNow();
    }
}
