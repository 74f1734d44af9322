package io.hicmae.driver.prep;

import com.google.gson.JsonObject;
import io.hicmae.runtime.data.ClipSchema;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * The layout of a prep output root: committed batches of clips and of quarantine rows, the staging area of a running
 * attempt, and the rename that commits a batch.
 *
 * <ul>
 *   <li>{@code batch=<attempt>/part-*.zstd.parquet}: clip rows ({@link ClipRows#CLIP_TYPE}), one partition directory
 *       per run that added videos. {@code spark.read().parquet(root)} reads them all, with a {@code batch} column.
 *   <li>{@code _quarantine/batch=<attempt>/}: quarantine rows ({@link ClipRows#QUARANTINE_TYPE}).
 *   <li>{@code _staging/<attempt>/}: a running attempt's output, invisible to readers (leading underscore).
 * </ul>
 *
 * <p>A batch is complete only when {@code _dataset.json}, written last by the run that committed it, lists it
 * ({@code batches}, {@code quarantine_batches}): on S3 the commit's rename is a copy, file by file, so a run that
 * dies while committing can leave part of a batch. A batch directory that the descriptor does not list is such
 * debris: it counts for nothing and the next run deletes it and prepares its videos again. Descriptors written before
 * {@code quarantine_batches} existed vouch for every quarantine batch there.
 */
final class PrepOutput {

    /** Prefix of a committed batch directory: a partition directory of {@link ClipSchema#BATCH}. */
    static final String BATCH_PREFIX = ClipSchema.BATCH + "=";
    /** Directory of running attempts. */
    static final String STAGING_DIR = "_staging";

    private final SparkSession spark;
    private final FileSystem fs;
    private final Path root;
    /** Names of the complete clip batches; null: every batch there (a descriptor from before the list). */
    private final Set<String> completeClips;
    /** Names of the complete quarantine batches; null: every batch there. */
    private final Set<String> completeQuarantine;
    private final JsonObject descriptor;

    /**
     * @param root the output root, qualified on {@code fs}
     * @param descriptor the output's {@code _dataset.json}, or null when there is none (no batch is complete)
     */
    PrepOutput(SparkSession spark, FileSystem fs, Path root, JsonObject descriptor) {
        this.spark = spark;
        this.fs = fs;
        this.root = root;
        this.completeClips = listed(descriptor, DatasetDescriptor.BATCHES);
        this.completeQuarantine = listed(descriptor, DatasetDescriptor.QUARANTINE_BATCHES);
        this.descriptor = descriptor;
    }

    /** The descriptor read when this output was opened, or null. */
    JsonObject descriptor() {
        return descriptor;
    }

    private static Set<String> listed(JsonObject descriptor, String key) {
        if (descriptor != null && !descriptor.has(key)) {
            return null;
        }
        Set<String> names = new HashSet<>();
        if (descriptor != null) {
            descriptor.getAsJsonArray(key).forEach(e -> names.add(e.getAsString()));
        }
        return names;
    }

    FileSystem fs() {
        return fs;
    }

    Path root() {
        return root;
    }

    Path quarantineRoot() {
        return new Path(root, ClipSchema.QUARANTINE_DIR);
    }

    /** The staging directory of {@code attempt}. */
    Path staging(String attempt) {
        return new Path(new Path(root, STAGING_DIR), attempt);
    }

    /** Deletes every staging directory: one run at a time per output, so what is there is stale or ours. */
    void deleteStaging() throws IOException {
        fs.delete(new Path(root, STAGING_DIR), true);
    }

    /** Complete clip batches, by name. */
    List<Path> clipBatches() throws IOException {
        return batches(root).stream().filter(p -> complete(completeClips, p)).toList();
    }

    /** Complete quarantine batches, by name. */
    List<Path> quarantineBatches() throws IOException {
        return batches(quarantineRoot()).stream().filter(p -> complete(completeQuarantine, p)).toList();
    }

    private static boolean complete(Set<String> names, Path batch) {
        return names == null || names.contains(batch.getName());
    }

    /** Deletes batch directories that no descriptor lists (a commit that died half-way); returns them. */
    List<Path> deleteIncomplete() throws IOException {
        List<Path> debris = new ArrayList<>();
        batches(root).stream().filter(p -> !complete(completeClips, p)).forEach(debris::add);
        batches(quarantineRoot()).stream().filter(p -> !complete(completeQuarantine, p)).forEach(debris::add);
        for (Path p : debris) {
            fs.delete(p, true);
        }
        return debris;
    }

    private List<Path> batches(Path dir) throws IOException {
        if (!fs.exists(dir)) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        for (FileStatus s : fs.listStatus(dir)) {
            if (s.isDirectory() && s.getPath().getName().startsWith(BATCH_PREFIX)) {
                out.add(s.getPath());
            }
        }
        out.sort(Comparator.comparing(Path::getName));
        return out;
    }

    /** The rows of the given batch directories. */
    Dataset<Row> read(List<Path> dirs) {
        return spark.read().parquet(dirs.stream().map(Path::toString).toArray(String[]::new));
    }

    /** Every source in a committed clip batch or in the quarantine. */
    Set<String> committedSources() throws IOException {
        Set<String> done = new HashSet<>();
        for (List<Path> dirs : List.of(clipBatches(), quarantineBatches())) {
            if (!dirs.isEmpty()) {
                done.addAll(read(dirs).select(ClipSchema.SOURCE).distinct().as(Encoders.STRING()).collectAsList());
            }
        }
        return done;
    }

    /** Publishes a staged clip batch as {@code batch=<attempt>}. */
    void commitClips(Path staged, String attempt) throws IOException {
        rename(fs, staged, new Path(root, BATCH_PREFIX + attempt));
        if (completeClips != null) {
            completeClips.add(BATCH_PREFIX + attempt); // complete once the descriptor lists it
        }
    }

    /** Publishes a staged quarantine batch as {@code _quarantine/batch=<attempt>}. */
    void commitQuarantine(Path staged, String attempt) throws IOException {
        fs.mkdirs(quarantineRoot());
        rename(fs, staged, new Path(quarantineRoot(), BATCH_PREFIX + attempt));
        if (completeQuarantine != null) {
            completeQuarantine.add(BATCH_PREFIX + attempt);
        }
    }

    static void rename(FileSystem fs, Path from, Path to) throws IOException {
        if (!fs.rename(from, to)) {
            throw new IOException("Cannot commit " + from + " to " + to + ": rename failed");
        }
    }
}
