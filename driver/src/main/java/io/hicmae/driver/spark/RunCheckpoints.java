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

    /** Commits {@code state} and the metrics lines as the checkpoint of {@code state.step()}. */
    public static void write(ModelZoo zoo, String runId, TrainingState state, Map<String, String> metadata,
            List<String> metrics) throws IOException {
        Path tmp = Files.createTempFile("hicmae-state-", ".safetensors");
        try {
            TrainingStateFile.write(tmp, state, metadata);
            Map<String, ContentWriter> files = new LinkedHashMap<>();
            files.put(STATE_FILE, ContentWriter.of(tmp));
            files.put(METRICS_FILE, ContentWriter.of(String.join("\n", metrics).concat("\n")
                    .getBytes(StandardCharsets.UTF_8)));
            zoo.checkpoints().write(runId, state.step(), files);
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
