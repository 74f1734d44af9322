package io.hicmae.driver.spark;

import io.hicmae.runtime.train.MallocTuning;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.serializer.KryoRegistrator;
import org.apache.spark.sql.SparkSession;
import scala.collection.Iterator;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import java.util.function.IntSupplier;
import java.util.stream.IntStream;

/**
 * The driver's side of a training job's barrier stage, shared by pre-training and fine-tuning: the Spark session
 * defaults, the wait for world-size task slots, and the bounded retry loop. A failed barrier result stage is never
 * retried by Spark, so the driver resubmits it (each attempt's ranks resume from the run's last checkpoint) after a
 * back-off and a fresh slot check; the job runs with interrupt-on-cancel so that the surviving ranks of a failed
 * attempt leave their slots at once.
 */
public final class BarrierStage {

    private static final Logger LOG = LogManager.getLogger(BarrierStage.class);

    /**
     * How a job's barrier stage runs, from the keys of {@link StageKeys}.
     *
     * @param job the command's name, prefixing console lines and the app name ("pretrain", "finetune")
     * @param worldSize ranks, one barrier task each
     * @param device each rank's configured device (a Spark-assigned GPU wins)
     * @param master the Spark master when spark-submit set none, or null for local mode
     * @param maxAttempts submissions before giving up
     * @param retryBackoff wait before a resubmission
     * @param slotWait how long to wait for world-size concurrent task slots
     * @param connectTimeout deadline of the ranks' ring set-up
     * @param ioTimeout deadline of each wait on a peer in the all-reduce
     * @param ringPorts the ports a rank's ring listener may bind, on the executor's address
     * @param progressPorts the ports the driver's progress listener may bind
     * @param tensorboard the directory (path or URI) of TensorBoard event files, or null for none
     * @param minWorldSize the smallest world size an elastic run goes on with (0 or worldSize: not elastic)
     * @param noticeEvery steps between the boundaries at which the ranks act on a preemption notice or grow request
     */
    public record Settings(String job, int worldSize, String device, String master, int maxAttempts,
            Duration retryBackoff, Duration slotWait, Duration connectTimeout, Duration ioTimeout, PortRange ringPorts,
            PortRange progressPorts, String tensorboard, int minWorldSize, int noticeEvery) implements Serializable {
        private static final long serialVersionUID = 1L;

        /** Settings of a plain (not elastic) stage whose progress listener binds any free port, without TensorBoard. */
        public Settings(String job, int worldSize, String device, String master, int maxAttempts,
                Duration retryBackoff, Duration slotWait, Duration connectTimeout, Duration ioTimeout,
                PortRange ringPorts) {
            this(job, worldSize, device, master, maxAttempts, retryBackoff, slotWait, connectTimeout, ioTimeout,
                    ringPorts, PortRange.ANY, null, 0, 1);
        }

        /** Whether the run may go on with fewer ranks than world-size. */
        public boolean elastic() {
            return minWorldSize > 0 && minWorldSize < worldSize;
        }
    }

    /** Builds the rank function of one attempt (1, 2, ...) on {@code worldSize} ranks. */
    @FunctionalInterface
    public interface Attempt<T> {
        AbstractFunction1<Iterator<Integer>, Iterator<T>> task(int attempt, int worldSize);
    }

    /**
     * How a job's results say that its stage stopped early at a checkpoint (e.g. preempted), to be resubmitted
     * without counting as a failure.
     */
    @FunctionalInterface
    public interface Stopped<T> {
        /** Why the stage stopped, or null when the results are final. */
        String reason(List<T> results);
    }

    /**
     * How the driver asks the ranks of a running attempt to grow ({@link GrowRequest}): they stop at a checkpoint
     * at their next step-boundary agreement, and the stage is resubmitted on {@code to} ranks.
     */
    @FunctionalInterface
    public interface Grow {
        void request(int attempt, int from, int to, String reason) throws IOException;
    }

    /** How often the driver counts the task slots while a shrunken elastic attempt runs. */
    static final long GROW_POLL_MILLIS = 1000;

    /** Most stops (preemptions) one run is resubmitted after: every loop has a bound. */
    private static final int MAX_STOPS = 1000;

    /** Describes where a resubmitted attempt resumes (e.g. "step 2" or "the start"), read after a failure. */
    @FunctionalInterface
    public interface ResumePoint {
        String describe() throws IOException;
    }

    private BarrierStage() {}

    /**
     * A session for a job: the one spark-submit configured, or local mode with the machine's cores shared out among
     * world-size task slots when no master is set. Sets the barrier and failure-detection timeouts unless the user
     * set them. The app is called {@code hicmae-<job>}. Kryo registers the training stage's results
     * ({@link TrainingKryoRegistrator}) and the job's own types ({@code jobRegistrators}).
     */
    @SafeVarargs
    public static SparkSession session(Settings s, Class<? extends KryoRegistrator>... jobRegistrators) {
        return session(s, UserConf.NONE, jobRegistrators);
    }

    /**
     * As {@link #session(Settings, Class[])}, with the command line's {@code --conf} settings applied first, so that
     * they win over every default here (a user's {@code spark.ui.enabled=true} turns the UI on), and the files of
     * {@code HADOOP_CONF_DIR} added to the session's Hadoop configuration.
     */
    @SafeVarargs
    public static SparkSession session(Settings s, UserConf user,
            Class<? extends KryoRegistrator>... jobRegistrators) {
        SparkSession spark = SparkSession.builder().config(conf(s, user, jobRegistrators)).getOrCreate();
        HadoopConf.addConfDirFromEnv(spark.sparkContext().hadoopConfiguration());
        return spark;
    }

    /**
     * The configuration {@link #session(Settings, UserConf, Class[])} starts Spark with. Executors get glibc's
     * malloc settings for libtorch ({@link MallocTuning}) unless the user set their own.
     */
    @SafeVarargs
    static SparkConf conf(Settings s, UserConf user, Class<? extends KryoRegistrator>... jobRegistrators) {
        String master = s.master();
        int worldSize = s.worldSize();
        SparkConf conf = new SparkConf();
        user.spark().forEach(conf::set);
        if (!conf.contains("spark.master")) {
            // Local mode: the machine's cores shared out among the ranks (each rank's libtorch uses its task's CPUs).
            int cores = Runtime.getRuntime().availableProcessors();
            conf.setMaster(master != null ? master : "local[" + Math.max(cores, worldSize) + "]");
            conf.setIfMissing("spark.task.cpus", Integer.toString(Math.max(1, cores / worldSize)));
            conf.setIfMissing("spark.ui.enabled", "false");
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        }
        conf.setIfMissing("spark.app.name", "hicmae-" + s.job());
        long barrierSeconds = Math.max(120, 2L * s.connectTimeout().toSeconds());
        conf.setIfMissing("spark.barrier.sync.timeout", barrierSeconds + "s");
        conf.setIfMissing("spark.executor.heartbeatInterval", "5s");
        conf.setIfMissing("spark.network.timeout", "60s");
        conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
        List<String> registrators = new ArrayList<>(List.of(TrainingKryoRegistrator.class.getName()));
        for (Class<? extends KryoRegistrator> r : jobRegistrators) {
            registrators.add(r.getName());
        }
        conf.setIfMissing("spark.kryo.registrator", String.join(",", registrators));
        conf.setIfMissing("spark.executorEnv.GLIBC_TUNABLES", MallocTuning.TUNABLES);
        conf.setIfMissing("spark.executorEnv.MALLOC_ARENA_MAX", MallocTuning.ARENA_MAX);
        SparkSecurity.apply(conf, System.getenv());
        return conf;
    }

    /** The host the driver's listeners (progress) bind to and the ranks reach. */
    public static String driverHost(SparkSession spark) {
        return spark.sparkContext().getConf().get("spark.driver.host", "127.0.0.1");
    }

    /**
     * Runs the barrier stage until one attempt's results are final: world-size tasks, rank = partition id, each
     * returning one result. A failed attempt is reported on the console with where the next one resumes; after the
     * last one the error names the attempts, {@code giveUpHint} (what the user can do) and the root cause. A stage
     * that stopped at a checkpoint ({@code stopped}) is resubmitted without counting as a failed attempt. An elastic
     * run ({@link Settings#elastic()}) picks each attempt's world size from the free slots: world-size when they
     * come within slot-wait, else the largest size >= min-world-size that {@code fits}; while an attempt runs
     * below world-size, the driver watches the slots ({@link GrowWatch}) and asks the ranks through {@code grow}
     * to stop at a checkpoint when a larger size fits, and the next attempt runs on it at once. Each resize is
     * printed with its reason.
     *
     * @param fits the world sizes the run can take (e.g. those dividing the micro-batches of a step)
     * @param slots the cluster's concurrent task slots now (Spark's count: {@link #slots(SparkSession)})
     * @param grow how a grow request reaches the ranks, or null for none
     * @return the ranks' results in rank order
     */
    public static <T extends Serializable> List<T> run(SparkSession spark, Settings s, Class<T> type,
            Attempt<T> attempts, Stopped<T> stopped, IntPredicate fits, IntSupplier slots, Grow grow,
            ResumePoint resume, PrintStream console, String giveUpHint) throws IOException {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        // Survivors of a failed attempt must give up their slots at once: cancel interrupts their threads.
        jsc.setLocalProperty("spark.job.interruptOnCancel", "true");
        Exception lastError = null;
        int world = s.worldSize();
        int failures = 0;
        int stops = 0;
        boolean grew = false;
        for (int attempt = 1; failures < s.maxAttempts() && stops <= MAX_STOPS; attempt++) {
            int free = slots.getAsInt();
            int next = grew ? GrowWatch.target(s, world, free, fits) : worldSize(s, fits, slots);
            if (next != world) {
                free = grew ? free : slots.getAsInt();
                console.printf("%s: resizing from %d to %d rank(s): %s%n", s.job(), world, next, next < world
                        ? "the cluster offers " + free + " task slot(s) after waiting "
                                + s.slotWait().toSeconds() + " s for " + s.worldSize()
                        : "the cluster offers " + free + " task slot(s) again");
                world = next;
            }
            grew = false;
            AbstractFunction1<Iterator<Integer>, Iterator<T>> task = attempts.task(attempt, world);
            try (GrowWatch watch = GrowWatch.start(s, attempt, world, slots, fits, grow, GROW_POLL_MILLIS)) {
                List<T> out = new ArrayList<>(jsc.parallelize(IntStream.range(0, world).boxed().toList(), world)
                        .rdd()
                        .barrier()
                        .mapPartitions(task, false, ClassTag$.MODULE$.apply(type))
                        .toJavaRDD()
                        .collect());
                String why = stopped.reason(out);
                if (why == null) {
                    return out;
                }
                stops++;
                grew = watch != null && watch.published();
                console.printf("%s: attempt %d stopped at a checkpoint (%s); resuming from %s%n", s.job(), attempt,
                        why, resume.describe());
            } catch (Exception e) { // SparkException is checked but Scala throws it undeclared
                lastError = e;
                failures++;
                if (failures == s.maxAttempts()) {
                    break;
                }
                LOG.warn("attempt {} failed", attempt, e);
                // Read the resume point after the back-off: a checkpoint in flight when the stage failed may land.
                sleep(s.retryBackoff().toMillis());
                console.printf("%s: attempt %d of %d failed (%s); resuming from %s after %d ms%n", s.job(), failures,
                        s.maxAttempts(), rootMessage(e), resume.describe(), s.retryBackoff().toMillis());
            }
        }
        throw new IllegalStateException(giveUpHint + " after " + failures + " failed attempt(s) and " + stops
                + " stop(s): " + rootMessage(lastError), lastError);
    }

    /**
     * Blocks until the cluster offers world-size concurrent task slots and returns world-size; after slot-wait an
     * elastic run returns the largest world size >= min-world-size that fits the free slots, other runs fail.
     */
    private static int worldSize(Settings s, IntPredicate fits, IntSupplier slotCount) {
        long deadline = System.nanoTime() + s.slotWait().toNanos();
        int slots = slotCount.getAsInt();
        while (slots < s.worldSize()) {
            if (System.nanoTime() > deadline) {
                if (s.elastic()) {
                    int w = GrowWatch.target(s, s.minWorldSize() - 1, slots, fits);
                    if (w >= s.minWorldSize()) {
                        return w;
                    }
                }
                throw new IllegalStateException("the cluster offers " + slots + " task slot(s) but world-size is "
                        + s.worldSize() + (s.elastic() ? " and min-world-size " + s.minWorldSize() : "")
                        + " (waited " + s.slotWait().toSeconds() + " s; see slot-wait-s)");
            }
            sleep(500);
            slots = slotCount.getAsInt();
        }
        return s.worldSize();
    }

    /** The concurrent task slots of the session's cluster now (executors x cores / task CPUs). */
    public static int slots(SparkSession spark) {
        org.apache.spark.SparkContext sc = spark.sparkContext();
        return sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting to resubmit", e);
        }
    }

    /** The first line of the failure and of its deepest cause: enough to see why, without a stack trace. */
    public static String rootMessage(Throwable e) {
        if (e == null) {
            return "no error recorded";
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String top = firstLine(e.getMessage());
        String deepest = firstLine(root.getMessage());
        String msg = root == e || top.contains(deepest) ? top : top + " <- " + deepest;
        return msg.length() > 400 ? msg.substring(0, 400) + "..." : msg;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).trim();
    }
}
