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
     * Hands the run's newest checkpoint, if any, to {@code restore} (state and its URI, for errors) and appends its
     * metrics lines to {@code metrics}.
     *
     * @return whether there was a checkpoint
     */
    public static boolean restoreLatest(ModelZoo zoo, String runId, BiConsumer<TrainingState, String> restore,
            List<String> metrics) throws IOException {
        Optional<Checkpoint> latest = zoo.checkpoints().latest(runId);
        if (latest.isEmpty()) {
            return false;
        }
        Checkpoint cp = latest.get();
        try (NDManager m = NDManager.newBaseManager()) {
            restore.accept(readState(zoo, cp, m), cp.location() + "/" + STATE_FILE);
        }
        metrics.addAll(readMetrics(zoo, cp));
        return true;
    }

    /** The state of a checkpoint, its arrays in {@code m}. */
    public static TrainingState readState(ModelZoo zoo, Checkpoint cp, NDManager m) throws IOException {
        Path tmp = Files.createTempFile("hicmae-state-", ".safetensors");
        try {
            try (InputStream in = zoo.checkpoints().open(cp, STATE_FILE)) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            return TrainingStateFile.read(m, tmp);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * The metadata of a checkpoint's state ({@link CheckpointFields}, the step, the job's keys), read from the
     * safetensors header only: the tensors are not fetched.
     */
    public static Map<String, String> readMetadata(ModelZoo zoo, Checkpoint cp) throws IOException {
        String origin = cp.location() + "/" + STATE_FILE;
        try (InputStream in = zoo.checkpoints().open(cp, STATE_FILE)) {
            byte[] len = in.readNBytes(8);
            long n = len.length == 8 ? java.nio.ByteBuffer.wrap(len).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong()
                    : -1;
            if (n < 2 || n > 100_000_000) {
                throw new IOException(origin + ": not a safetensors file (header length " + n + ")");
            }
            byte[] header = in.readNBytes((int) n);
            if (header.length != n) {
                throw new IOException(origin + ": truncated header (" + header.length + " of " + n + " bytes)");
            }
            Map<String, String> out = new LinkedHashMap<>();
            com.google.gson.JsonElement md = com.google.gson.JsonParser.parseString(
                    new String(header, StandardCharsets.UTF_8)).getAsJsonObject().get("__metadata__");
            if (md != null && md.isJsonObject()) {
                md.getAsJsonObject().entrySet().forEach(e -> out.put(e.getKey(), e.getValue().getAsString()));
            }
            return out;
        } catch (RuntimeException e) {
            throw new IOException(origin + ": unreadable header: " + e.getMessage(), e);
        }
    }

    /** The metrics lines of a checkpoint, blank lines dropped. */
    public static List<String> readMetrics(ModelZoo zoo, Checkpoint cp) throws IOException {
        List<String> lines = new ArrayList<>();
        try (InputStream in = zoo.checkpoints().open(cp, METRICS_FILE)) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    lines.add(line);
                }
            }
        }
        return lines;
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
     * publishes.
     */
    public static void writeWeights(ModelZoo zoo, Checkpoint cp, Path weights, String runId) throws IOException {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> params = readState(zoo, cp, m).parameters();
            Safetensors.write(weights, params, Map.of("format", "pt", "run", runId));
        }
    }
}
