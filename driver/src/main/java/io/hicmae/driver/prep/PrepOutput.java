package io.hicmae.driver.prep;

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
 */
final class PrepOutput {

    /** Prefix of a committed batch directory: a partition directory of {@link ClipSchema#BATCH}. */
    static final String BATCH_PREFIX = ClipSchema.BATCH + "=";
    /** Directory of running attempts. */
    static final String STAGING_DIR = "_staging";

    private final SparkSession spark;
    private final FileSystem fs;
    private final Path root;

    /** @param root the output root, qualified on {@code fs} */
    PrepOutput(SparkSession spark, FileSystem fs, Path root) {
        this.spark = spark;
        this.fs = fs;
        this.root = root;
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

    /** Committed clip batches, by name. */
    List<Path> clipBatches() throws IOException {
        return batches(root);
    }

    /** Committed quarantine batches, by name. */
    List<Path> quarantineBatches() throws IOException {
        return batches(quarantineRoot());
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
    }

    /** Publishes a staged quarantine batch as {@code _quarantine/batch=<attempt>}. */
    void commitQuarantine(Path staged, String attempt) throws IOException {
        fs.mkdirs(quarantineRoot());
        rename(fs, staged, new Path(quarantineRoot(), BATCH_PREFIX + attempt));
    }

    static void rename(FileSystem fs, Path from, Path to) throws IOException {
        if (!fs.rename(from, to)) {
            throw new IOException("Cannot commit " + from + " to " + to + ": rename failed");
        }
    }
}
