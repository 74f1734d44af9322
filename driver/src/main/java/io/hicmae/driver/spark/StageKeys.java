package io.hicmae.driver.spark;

import io.hicmae.driver.config.ConfigDef;
import io.hicmae.driver.config.ConfigException;
import io.hicmae.runtime.allreduce.WireDtype;

import java.time.Duration;
import java.util.Map;

import static io.hicmae.driver.config.ConfigDef.atLeast;
import static io.hicmae.driver.config.ConfigDef.between;
import static io.hicmae.driver.config.ConfigDef.matches;

/**
 * The configuration keys every barrier-stage job shares (pre-training, fine-tuning): ranks, device, Spark master,
 * retries, the slot wait and the ring's deadlines; defined once, read into {@link BarrierStage.Settings}.
 */
public final class StageKeys {

    public static final String WORLD_SIZE = "world-size";
    public static final String DEVICE = "device";
    public static final String MASTER = "master";
    public static final String MAX_ATTEMPTS = "max-attempts";
    public static final String RETRY_BACKOFF_MS = "retry-backoff-ms";
    public static final String SLOT_WAIT_S = "slot-wait-s";
    public static final String CONNECT_TIMEOUT_S = "connect-timeout-s";
    public static final String IO_TIMEOUT_S = "io-timeout-s";
    public static final String GLOBAL_BATCH = "global-batch";
    public static final String ASYNC_CHECKPOINTS = "async-checkpoints";
    public static final String MIN_WORLD_SIZE = "min-world-size";
    public static final String NOTICE_EVERY = "notice-every";
    public static final String RING_PORTS = "ring-ports";
    public static final String PROGRESS_PORT = "progress-port";
    public static final String TENSORBOARD = "tensorboard";
    public static final String ALLREDUCE_DTYPE = "allreduce-dtype";

    private StageKeys() {}

    /** Adds the shared keys to a job's definition. */
    public static ConfigDef define(ConfigDef def) {
        return def
                .define(WORLD_SIZE, Integer.class, 1, atLeast(1), "Ranks, one barrier task each")
                .define(DEVICE, String.class, "auto", matches("auto|cpu|gpu(:[0-9]+)?", "must be auto, cpu, gpu or gpu:N"),
                        "Device of each rank; on a GPU cluster each task's Spark-assigned GPU wins")
                .define(MASTER, String.class, null, null,
                        "Spark master when not set by spark-submit (default: local mode with the machine's cores shared among the ranks)")
                .define(MAX_ATTEMPTS, Integer.class, 3, between(1, 100),
                        "Barrier-stage attempts; each retry resumes from the last checkpoint")
                .define(RETRY_BACKOFF_MS, Long.class, 2000L, between(0, 3_600_000),
                        "Wait before resubmitting a failed stage")
                .define(SLOT_WAIT_S, Integer.class, 120, between(1, 86_400),
                        "How long to wait for world-size task slots before submitting (elastic: before shrinking)")
                .define(MIN_WORLD_SIZE, Integer.class, 0, atLeast(0),
                        "Elastic: when world-size slots do not come back within slot-wait-s, go on with the largest "
                                + "world size >= this that divides the micro-batches of a step, and grow back at a "
                                + "notice-every boundary when slots return (0: world-size, not elastic)")
                .define(NOTICE_EVERY, Integer.class, 1, between(1, 1_000_000),
                        "Steps between the boundaries at which the ranks act on a preemption notice or, in a "
                                + "shrunken elastic run, a grow request (the run checkpoints and stops there); the "
                                + "flags ride every step's loss all-reduce, so 1 costs nothing")
                .define(CONNECT_TIMEOUT_S, Integer.class, 60, between(1, 3600), "Deadline for the ranks' ring set-up")
                .define(IO_TIMEOUT_S, Integer.class, 300, between(1, 86_400),
                        "Deadline for each wait on a peer in the all-reduce (longer than one step on the slowest rank)")
                .define(GLOBAL_BATCH, Integer.class, 0, atLeast(0),
                        "Clips per optimiser step over all ranks, a multiple of batch-size; each rank accumulates "
                                + "(global-batch / batch-size) / world-size micro-batches (0: the resumed run's, "
                                + "else world-size x batch-size)")
                .define(ASYNC_CHECKPOINTS, Boolean.class, true, null,
                        "Write checkpoints in the background: training stalls only to copy the state to host memory "
                                + "(false: write on the training thread)")
                .define(RING_PORTS, String.class, "0", StageKeys::validPortRange,
                        "Ports of each rank's ring listener: 0 for any free port, or LO-HI (e.g. 40100-40199) so a "
                                + "firewall or NetworkPolicy can admit them; it binds to the executor's address only")
                .define(PROGRESS_PORT, String.class, "0", StageKeys::validPortRange,
                        "Port(s) of the driver's progress listener that rank 0 connects to: 0 (any free port), PORT or "
                                + "LO-HI (the first free one), so a firewall or NetworkPolicy can admit them")
                .define(TENSORBOARD, String.class, null, null,
                        "Directory (path or URI) for TensorBoard event files of the live scalars, one subdirectory per run "
                                + "(default: none)")
                .define(ALLREDUCE_DTYPE, String.class, "fp32", matches("fp32|bf16", "must be fp32 or bf16"),
                        "How gradients travel between ranks: fp32, or bf16 (rounded to nearest even, half the bytes,"
                                + " accumulated in fp32; for links slower than the all-reduce's data rate: at 1 Gbit/s"
                                + " a 2-rank small-preset step takes a third less time)");
    }

    /** The ring's wire dtype of a job's parsed values. */
    public static WireDtype wireDtype(Map<String, Object> values) {
        return WireDtype.parse((String) values.get(ALLREDUCE_DTYPE), ALLREDUCE_DTYPE);
    }

    private static void validPortRange(String key, Object value) {
        try {
            PortRange.parse(value.toString());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(key, value, "must be 0 (any free port), PORT or LO-HI with 1024 <= LO <= HI <= 65535");
        }
    }

    /** The configured global batch, or 0 when not given. */
    public static int globalBatch(Map<String, Object> values) {
        return (Integer) values.get(GLOBAL_BATCH);
    }

    /** Whether checkpoints are written in the background. */
    public static boolean asyncCheckpoints(Map<String, Object> values) {
        return (Boolean) values.get(ASYNC_CHECKPOINTS);
    }

    /** The stage settings of a job's parsed values. */
    public static BarrierStage.Settings settings(String job, Map<String, Object> values) {
        return new BarrierStage.Settings(job, (Integer) values.get(WORLD_SIZE), (String) values.get(DEVICE),
                (String) values.get(MASTER), (Integer) values.get(MAX_ATTEMPTS),
                Duration.ofMillis((Long) values.get(RETRY_BACKOFF_MS)),
                Duration.ofSeconds((Integer) values.get(SLOT_WAIT_S)),
                Duration.ofSeconds((Integer) values.get(CONNECT_TIMEOUT_S)),
                Duration.ofSeconds((Integer) values.get(IO_TIMEOUT_S)),
                PortRange.parse((String) values.get(RING_PORTS)),
                PortRange.parse((String) values.get(PROGRESS_PORT)), (String) values.get(TENSORBOARD),
                Math.max(0, (Integer) values.get(MIN_WORLD_SIZE)), (Integer) values.get(NOTICE_EVERY));
    }
}
