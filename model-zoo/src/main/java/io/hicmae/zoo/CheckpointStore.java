package io.hicmae.zoo;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

/**
 * A run's checkpoints under {@code <root>/_runs/<runId>/checkpoints/step-<N>/}, each committed atomically like a
 * version and covered by its own SHA256SUMS. A write keeps the newest {@value ZooConfig#CHECKPOINTS_KEEP} of the run.
 * One writer per run (the trainer's rank 0); any number of readers.
 */
public final class CheckpointStore {
    private static final Pattern STEP_DIR = Pattern.compile("step-([0-9]{12})");

    private final Store store;

    CheckpointStore(Store store) {
        this.store = store;
    }

    private Path checkpointsDir(String runId) {
        return new Path(new Path(store.runsDir(), Names.runId(runId)), "checkpoints");
    }

    /** Commits the files as the checkpoint of {@code step}, then drops the run's checkpoints beyond the newest K. */
    public Checkpoint write(String runId, long step, Map<String, ContentWriter> files) throws IOException {
        String entry = Names.step(step);
        Path dir = checkpointsDir(runId);
        DirectoryWriter writer = new DirectoryWriter(store, dir, entry, UUID.randomUUID().toString());
        try {
            for (Map.Entry<String, ContentWriter> f : new java.util.TreeMap<>(files).entrySet()) {
                writer.write(Names.file(f.getKey()), f.getValue());
            }
            JsonObject marker = new JsonObject();
            marker.addProperty("runId", runId);
            marker.addProperty("step", step);
            writer.commit(marker);
        } catch (IOException | RuntimeException e) {
            writer.abandon();
            throw e;
        }
        retain(runId, store.config.checkpointsKeep());
        return read(runId, step, writer.target())
                .orElseThrow(() -> new ZooException("Checkpoint " + Store.uri(writer.target()) + " vanished"));
    }

    /** The run's committed checkpoints, oldest first. */
    public List<Checkpoint> list(String runId) throws IOException {
        List<Checkpoint> out = new ArrayList<>();
        for (FileStatus s : store.list(checkpointsDir(runId))) {
            var m = STEP_DIR.matcher(s.getPath().getName());
            if (s.isDirectory() && m.matches()) {
                read(runId, Long.parseLong(m.group(1)), s.getPath()).ifPresent(out::add);
            }
        }
        out.sort(Comparator.comparingLong(Checkpoint::step));
        return out;
    }

    /** The run's newest committed checkpoint: what a resumed run starts from. */
    public Optional<Checkpoint> latest(String runId) throws IOException {
        List<Checkpoint> all = list(runId);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /** Opens one file of a checkpoint for reading. */
    public InputStream open(Checkpoint checkpoint, String file) throws IOException {
        if (!checkpoint.files().contains(file)) {
            throw new ZooException("Checkpoint " + checkpoint.location() + " has no file " + Names.quote(file)
                    + " (files: " + String.join(", ", checkpoint.files()) + ")");
        }
        return store.fs.open(new Path(new Path(checkpoint.location()), file));
    }

    /** Deletes all but the run's newest {@code keep} checkpoints; returns the deleted ones. */
    public List<Checkpoint> retain(String runId, int keep) throws IOException {
        if (keep < 1) {
            throw ZooConfig.invalid(ZooConfig.CHECKPOINTS_KEEP, keep, "must be at least 1");
        }
        List<Checkpoint> all = list(runId);
        List<Checkpoint> dropped = new ArrayList<>(all.subList(0, Math.max(0, all.size() - keep)));
        for (Checkpoint c : dropped) {
            Path dir = new Path(c.location());
            store.fs.delete(new Path(dir, Store.MARKER), false);
            store.fs.delete(dir, true);
        }
        return dropped;
    }

    private Optional<Checkpoint> read(String runId, long step, Path dir) throws IOException {
        Optional<Store.Marker> marker = store.marker(dir);
        if (marker.isEmpty()) {
            return Optional.empty();
        }
        var sums = Sha256.parse(store.readAll(new Path(dir, Store.SUMS)), Store.uri(new Path(dir, Store.SUMS)));
        return Optional.of(new Checkpoint(
                runId, step, dir.toUri(), marker.get().committedAt(), new ArrayList<>(sums.keySet())));
    }
}
