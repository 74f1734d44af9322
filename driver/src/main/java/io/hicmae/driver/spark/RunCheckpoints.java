package io.hicmae.driver.spark;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.io.Safetensors;
import io.hicmae.runtime.train.TrainingState;
import io.hicmae.runtime.train.TrainingStateFile;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ContentWriter;
import io.hicmae.zoo.ModelRef;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.RunLease;
import org.apache.spark.TaskContext;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.BiConsumer;

/**
 * A training run's checkpoints in the zoo's run area, as every training job writes them (and the published weights a
 * job starts from): {@value #STATE_FILE} (the
 * full {@link TrainingState}: parameters, AdamW moments, step) and {@value #METRICS_FILE} (the metrics lines so far).
 * Rank 0 writes; every rank restores the newest on start, so a resubmitted stage resumes where the last one committed.
 */
public final class RunCheckpoints {

    /** The checkpoint file holding the full training state. */
    public static final String STATE_FILE = "state.safetensors";
    /** The per-step metrics so far, as JSON lines, in every checkpoint. */
    public static final String METRICS_FILE = "metrics.jsonl";

    private RunCheckpoints() {}

    /** The Spark local property that carries the driver's run lease epoch to the ranks' checkpoint writes. */
    public static final String LEASE_EPOCH = "hicmae.run.lease.epoch";

    /**
     * Takes the run's lease on the driver (one writer per run, {@link RunLease}) for the job's lifetime, renewed in
     * the background, and hands its epoch to every task the calling thread submits, so the ranks' checkpoint writes
     * are fenced by it. Fails naming the holder and since when if another live job trains the run.
     *
     * @param job the job's name for the holder, e.g. {@code pretrain}
     */
    public static Lease lease(SparkSession spark, ModelZoo zoo, String runId, String job) throws IOException {
        String holder = job + " driver on " + hostName() + " (pid " + ProcessHandle.current().pid()
                + ", Spark application " + spark.sparkContext().applicationId() + ")";
        RunLease lease = zoo.checkpoints().acquireLease(runId, holder);
        spark.sparkContext().setLocalProperty(LEASE_EPOCH, Long.toString(lease.epoch()));
        return new Lease(spark, lease);
    }

    private static String hostName() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.net.UnknownHostException e) {
            return "an unknown host";
        }
    }

    /** A job's hold on its run: closing it releases the lease and stops handing its epoch to new tasks. */
    public static final class Lease implements AutoCloseable {
        private final SparkSession spark;
        private final RunLease lease;

        private Lease(SparkSession spark, RunLease lease) {
            this.spark = spark;
            this.lease = lease;
        }

        public String runId() {
            return lease.runId();
        }

        public long epoch() {
            return lease.epoch();
        }

        @Override
        public void close() throws IOException {
            spark.sparkContext().setLocalProperty(LEASE_EPOCH, null);
            lease.close();
        }
    }

    /**
     * The lease epoch of the Spark task running on this thread, or empty outside a task or without a lease. A
     * background checkpoint writer must capture it on the task thread and pass it to
     * {@link #write(ModelZoo, String, OptionalLong, TrainingState, Map, List)}.
     */
    public static OptionalLong taskLeaseEpoch() {
        TaskContext ctx = TaskContext.get();
        String epoch = ctx == null ? null : ctx.getLocalProperty(LEASE_EPOCH);
        return epoch == null ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(epoch));
    }

    /**
     * Commits {@code state} and the metrics lines as the checkpoint of {@code state.step()}, fenced by the lease epoch
     * of the task on this thread ({@link #taskLeaseEpoch}).
     */
    public static void write(ModelZoo zoo, String runId, TrainingState state, Map<String, String> metadata,
            List<String> metrics) throws IOException {
        write(zoo, runId, taskLeaseEpoch(), state, metadata, metrics);
    }

    /**
     * Commits {@code state} and the metrics lines as the checkpoint of {@code state.step()}; with an epoch, only while
     * that epoch holds the run's lease ({@link io.hicmae.zoo.RunLeaseException} otherwise, nothing changed).
     */
    public static void write(ModelZoo zoo, String runId, OptionalLong epoch, TrainingState state,
            Map<String, String> metadata, List<String> metrics) throws IOException {
        Path tmp = Files.createTempFile("hicmae-state-", ".safetensors");
        try {
            TrainingStateFile.write(tmp, state, metadata);
            Map<String, ContentWriter> files = new LinkedHashMap<>();
            files.put(STATE_FILE, ContentWriter.of(tmp));
            files.put(METRICS_FILE, ContentWriter.of(String.join("\n", metrics).concat("\n")
                    .getBytes(StandardCharsets.UTF_8)));
            if (epoch.isPresent()) {
                zoo.checkpoints().write(runId, state.step(), files, epoch.getAsLong());
            } else {
                zoo.checkpoints().write(runId, state.step(), files);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Hands the run's newest intact checkpoint, if any, to {@code restore} (state and its URI, for errors) and appends
     * its metrics lines to {@code metrics}. Every file is checked against its SHA-256 before use: a corrupt or
     * truncated newest checkpoint is skipped with a warning naming it and the one before is used; a run whose
     * checkpoints are all corrupt fails naming each ({@link io.hicmae.zoo.CheckpointStore#fetchNewestIntact}).
     *
     * @return whether there was a checkpoint
     */
    public static boolean restoreLatest(ModelZoo zoo, String runId, BiConsumer<TrainingState, String> restore,
            List<String> metrics) throws IOException {
        Path dir = Files.createTempDirectory("hicmae-checkpoint-");
        try {
            Path files = dir.resolve("files");
            Optional<Checkpoint> cp = zoo.checkpoints().fetchNewestIntact(runId, files);
            if (cp.isEmpty()) {
                return false;
            }
            try (NDManager m = NDManager.newBaseManager()) {
                restore.accept(TrainingStateFile.read(m, files.resolve(STATE_FILE)),
                        cp.get().location() + "/" + STATE_FILE);
            }
            metrics.addAll(metricsLines(Files.readAllBytes(files.resolve(METRICS_FILE))));
            return true;
        } finally {
            deleteTree(dir);
        }
    }

    /** The state of a checkpoint, its arrays in {@code m}, read from bytes checked against the checkpoint's SHA-256. */
    public static TrainingState readState(ModelZoo zoo, Checkpoint cp, NDManager m) throws IOException {
        Path dir = Files.createTempDirectory("hicmae-checkpoint-");
        try {
            zoo.checkpoints().fetch(cp, dir.resolve("files"));
            return TrainingStateFile.read(m, dir.resolve("files").resolve(STATE_FILE));
        } finally {
            deleteTree(dir);
        }
    }

    /** The metrics lines of a checkpoint, blank lines dropped. */
    public static List<String> readMetrics(ModelZoo zoo, Checkpoint cp) throws IOException {
        try (InputStream in = zoo.checkpoints().open(cp, METRICS_FILE)) {
            return metricsLines(in.readAllBytes());
        }
    }

    private static List<String> metricsLines(byte[] content) {
        List<String> lines = new ArrayList<>();
        for (String line : new String(content, StandardCharsets.UTF_8).split("\n")) {
            if (!line.isBlank()) {
                lines.add(line);
            }
        }
        return lines;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var walk = Files.walk(dir)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * Hands a published version's weights ({@code model.safetensors}, authors' keys) to {@code load} with their
     * origin for errors; the arrays live until {@code load} returns.
     *
     * @param ref the version, {@code name:v000001}
     */
    public static void withVersionWeights(ModelZoo zoo, String ref, BiConsumer<Map<String, NDArray>, String> load)
            throws IOException {
        Path tmp = Files.createTempFile("hicmae-weights-", ".safetensors");
        try {
            try (InputStream in = zoo.open(zoo.resolve(ModelRef.parse(ref)), PublishRequest.WEIGHTS)) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            try (NDManager m = NDManager.newBaseManager()) {
                load.accept(Safetensors.read(m, tmp), ref + "/" + PublishRequest.WEIGHTS);
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Writes a checkpoint's parameters (authors' key names, no optimiser state) as the safetensors file a version
     * publishes. The parameters come from bytes checked against the checkpoint's SHA-256, and every tensor must be
     * finite: a NaN or infinity fails naming the tensor and the checkpoint, and nothing is written.
     */
    public static void writeWeights(ModelZoo zoo, Checkpoint cp, Path weights, String runId) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> params = readState(zoo, cp, m).parameters();
            checkFinite(params, cp.location() + "/" + STATE_FILE);
            Safetensors.write(weights, params, Map.of("format", "pt", "run", runId));
        }
    }

    /** Fails naming the first tensor (by name) that holds a NaN or an infinity, with its count and first index. */
    static void checkFinite(Map<String, NDArray> tensors, String origin) {
        for (Map.Entry<String, NDArray> e : new java.util.TreeMap<>(tensors).entrySet()) {
            NDArray a = e.getValue();
            if (!a.getDataType().isFloating()) {
                continue;
            }
            try (NDManager scope = a.getManager().newSubManager()) {
                a.tempAttach(scope);
                NDArray flat = a.flatten();
                NDArray nonFinite = flat.isNaN().logicalOr(flat.isInfinite());
                long count = nonFinite.countNonzero().getLong();
                if (count > 0) {
                    long first = nonFinite.toType(ai.djl.ndarray.types.DataType.INT32, false).argMax().getLong();
                    float value = flat.get(first).toType(ai.djl.ndarray.types.DataType.FLOAT32, false).getFloat();
                    throw new IllegalStateException("Refusing to publish " + origin + ": tensor " + e.getKey()
                            + " holds " + count + " non-finite value(s), the first " + value + " at flat index "
                            + first + " of shape " + a.getShape() + "; publish from an earlier finite checkpoint");
                }
            }
        }
    }
}
