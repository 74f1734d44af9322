package io.hicmae.driver.prep;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.driver.prep.InputListing.InputFile;
import io.hicmae.prep.ClipRecord;
import io.hicmae.prep.ClipSampler;
import io.hicmae.runtime.data.ClipLabels;
import io.hicmae.runtime.data.ClipSchema;
import io.hicmae.runtime.data.LabelSpace;
import io.hicmae.prep.ClipSpool;
import io.hicmae.prep.DecodeOutcome;
import io.hicmae.prep.FfmpegNatives;
import io.hicmae.prep.QuarantineReason;
import io.hicmae.prep.QuarantineRecord;
import io.hicmae.prep.VideoClipDecoder;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The prep job: videos in, Parquet clip tensors out, with a quarantine for what is broken.
 *
 * <p>Output layout under the output root:
 *
 * <ul>
 *   <li>{@code batch=<attempt>/part-*.zstd.parquet}: clip rows ({@link #CLIP_TYPE}), one partition directory per
 *       run that added videos. {@code spark.read().parquet(root)} reads them all, with a {@code batch} column.
 *   <li>{@code _quarantine/batch=<attempt>/}: quarantine rows ({@link #QUARANTINE_TYPE}); read it with
 *       {@code spark.read().parquet(root + "/_quarantine")}.
 *   <li>{@code _dataset.json}: schema version, the label space (a labelled dataset), sampling, cumulative counts
 *       (clips per class, split and fold for a labelled dataset), bytes per clip, times, the last config.
 *   <li>{@code _staging/<attempt>/}: a running attempt's output, invisible to readers (leading underscore).
 * </ul>
 *
 * <p>A run lists the input on the driver, skips every source already in a committed batch or the quarantine,
 * decodes the rest in {@code mapPartitions} (one {@link VideoClipDecoder} per task; a remote video is first copied to
 * the executor's disk, and the copy and the decode each have the per-video deadline), writes both tables into its
 * staging directory, checks that every video ended with clips or in the quarantine, and only then commits by
 * renaming: quarantine first, clips second, {@code _dataset.json} last. A run killed at any point leaves the
 * committed output as it was or with whole batches, so running again ends with exactly the rows of one clean run.
 * A labelled run (a {@link Manifest}) writes each video's labels into its clip rows; it must keep the dataset's
 * label space and the labels of the videos already in it, both checked before anything is written.
 * One run at a time per output; the next run deletes stale staging directories. On S3 a rename is a copy, so the
 * commit is atomic per batch only on HDFS and local file systems.
 */
public final class PrepJob {

    private static final Logger LOG = LogManager.getLogger(PrepJob.class);

    /** Prefix of a committed batch directory: a partition directory of {@link ClipSchema#BATCH}. */
    public static final String BATCH_PREFIX = ClipSchema.BATCH + "=";
    /** Directory of running attempts. */
    public static final String STAGING_DIR = "_staging";

    /** Spark type of a clip row; names from {@link ClipSchema}. */
    public static final StructType CLIP_TYPE = new StructType()
            .add(ClipSchema.CLIP_ID, DataTypes.StringType, false)
            .add(ClipSchema.SOURCE, DataTypes.StringType, false)
            .add(ClipSchema.WINDOW, DataTypes.IntegerType, false)
            .add(ClipSchema.START_S, DataTypes.DoubleType, false)
            .add(ClipSchema.FPS, DataTypes.DoubleType, false)
            .add(ClipSchema.FRAMES, DataTypes.BinaryType, false)
            .add(ClipSchema.PCM, DataTypes.BinaryType, false)
            .add(ClipSchema.FRAMES_T, DataTypes.IntegerType, false)
            .add(ClipSchema.HEIGHT, DataTypes.IntegerType, false)
            .add(ClipSchema.WIDTH, DataTypes.IntegerType, false)
            .add(ClipSchema.CHANNELS, DataTypes.IntegerType, false)
            .add(ClipSchema.SAMPLE_RATE, DataTypes.IntegerType, false)
            .add(ClipSchema.PCM_SAMPLES, DataTypes.IntegerType, false)
            .add(ClipSchema.LABEL, DataTypes.IntegerType, true)
            .add(ClipSchema.DIMENSIONS, DataTypes.createArrayType(DataTypes.FloatType, false), true)
            .add(ClipSchema.SPLIT, DataTypes.StringType, true)
            .add(ClipSchema.FOLD, DataTypes.IntegerType, true);

    /** Spark type of a quarantine row. */
    public static final StructType QUARANTINE_TYPE = new StructType()
            .add(ClipSchema.Q_SOURCE, DataTypes.StringType, false)
            .add(ClipSchema.Q_REASON, DataTypes.StringType, false)
            .add(ClipSchema.Q_DETAIL, DataTypes.StringType, false);

    /**
     * What a run did and where the dataset stands.
     *
     * @param attempt this run's id, or null when there was nothing new
     * @param newVideos videos this run decoded or quarantined
     * @param newClips clips this run added
     * @param decodeSeconds wall time of this run's decode-and-write stage
     * @param taskCpuSeconds CPU time of that stage's tasks, summed over tasks
     * @param cores Spark's default parallelism during the run
     * @param videosSeen every video the dataset has seen: {@code videosWithClips + videosQuarantined}
     * @param videosWithClips videos with at least one clip in the dataset
     * @param videosQuarantined videos in the quarantine
     * @param clips clips in the dataset
     * @param bytesPerClip Parquet bytes per clip over the whole dataset
     */
    public record Summary(String attempt, long newVideos, long newClips, double decodeSeconds, double taskCpuSeconds,
            int cores,
            long videosSeen, long videosWithClips, long videosQuarantined, long clips, double bytesPerClip) {

        /** Clips per second per core of this run's decode stage, by wall time. */
        public double clipsPerSecondPerCore() {
            return decodeSeconds > 0 ? newClips / decodeSeconds / cores : 0;
        }

        /** Clips per CPU second of the stage's tasks: per-core throughput that other load on the machine does not skew. */
        public double clipsPerCpuSecond() {
            return taskCpuSeconds > 0 ? newClips / taskCpuSeconds : 0;
        }

        /** The closing line printed at the end of the job. */
        public String line() {
            return String.format(java.util.Locale.ROOT,
                    "prep done: dataset videos_seen=%d = videos_with_clips=%d + videos_quarantined=%d, clips=%d,"
                            + " bytes_per_clip=%.0f; this run: %d new videos, %d clips in %.1f s on %d cores"
                            + " (%.2f clips/s per core; %.2f clips per task CPU second)",
                    videosSeen, videosWithClips, videosQuarantined, clips, bytesPerClip, newVideos, newClips,
                    decodeSeconds, cores, clipsPerSecondPerCore(), clipsPerCpuSecond());
        }
    }

    private final SparkSession spark;
    private final PrepConfig config;
    private final Clock clock;

    public PrepJob(SparkSession spark, PrepConfig config, Clock clock) {
        this.spark = spark;
        this.config = config;
        this.clock = clock;
    }

    /** Runs the job; throws only for a broken machine, an unreadable input root, or unbalanced counts. */
    public Summary run() throws IOException {
        LOG.info("prep config: {}", config.toMap());
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        Path out = new Path(config.output());
        FileSystem fs = out.getFileSystem(hadoop);
        out = fs.makeQualified(out);
        JsonObject previous = readDatasetJson(fs, out);
        checkSameSampling(previous, out);
        Manifest manifest = config.manifest() == null ? null : Manifest.read(config.manifest(), hadoop);
        Optional<LabelSpace> space = manifest == null ? Optional.empty() : Optional.of(manifest.space());
        checkSameLabelSpace(config, previous == null, previous == null ? Optional.empty()
                : LabelSpace.fromJson(previous, new Path(out, ClipSchema.DATASET_JSON).toString()), space, out);

        InputListing.Result listing = manifest == null
                ? InputListing.list(config.input(), hadoop, config.extensions())
                : InputListing.list(manifest, hadoop);
        if (manifest != null) {
            checkCommittedLabels(fs, out, manifest, listing);
        }
        fs.delete(new Path(out, STAGING_DIR), true);
        Set<String> done = committedSources(fs, out);
        List<InputFile> todo = listing.files().stream().filter(f -> !done.contains(f.source())).toList();
        List<QuarantineRecord> rejected =
                listing.rejected().stream().filter(q -> !done.contains(q.source())).toList();
        LOG.info("prep: {} inputs under {}, {} already in {}, {} to decode, {} rejected by the listing",
                listing.seen(), listing.root(), listing.seen() - todo.size() - rejected.size(), out, todo.size(),
                rejected.size());

        String attempt = null;
        Stage stage = new Stage(0, 0, 0);
        if (!todo.isEmpty() || !rejected.isEmpty()) {
            attempt = Instant.now(clock).toString().replaceAll("[-:.]", "") + "-"
                    + UUID.randomUUID().toString().substring(0, 8);
            stage = runAttempt(fs, out, attempt, todo, rejected);
        }
        Summary summary = writeDatasetJson(fs, out, previous, space, attempt, todo.size() + rejected.size(), stage);
        System.out.println(summary.line());
        return summary;
    }

    /** Clips written by a run's decode stage, its wall time and its tasks' CPU time. */
    private record Stage(long clips, double seconds, double cpuSeconds) {}

    private Stage runAttempt(FileSystem fs, Path out, String attempt, List<InputFile> todo,
            List<QuarantineRecord> rejected) throws IOException {
        Path staging = new Path(new Path(out, STAGING_DIR), attempt);
        Path clipsStaging = new Path(staging, "clips");
        Path quarantineStaging = new Path(staging, "quarantine");
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        LongAccumulator videosDone = jsc.sc().longAccumulator("prep videos done");
        LongAccumulator clips = jsc.sc().longAccumulator("prep clips");
        LongAccumulator quarantined = jsc.sc().longAccumulator("prep quarantined");
        CollectionAccumulator<QuarantineRecord> quarantine = jsc.sc().collectionAccumulator("prep quarantine");
        Broadcast<SerializableConfiguration> hadoopConf =
                jsc.broadcast(new SerializableConfiguration(jsc.hadoopConfiguration()));

        double seconds;
        double cpuSeconds;
        int partitions = Math.max(jsc.defaultParallelism(),
                (int) Math.min(Integer.MAX_VALUE, (todo.size() + config.videosPerTask() - 1L) / config.videosPerTask()));
        partitions = Math.min(partitions, Math.max(1, todo.size()));
        JavaRDD<Row> rows = jsc.parallelize(todo, partitions).mapPartitions(new DecodePartition(
                config, hadoopConf, videosDone, clips, quarantined, quarantine));
        try (PrepProgress progress = new PrepProgress(todo.size(), videosDone, clips, quarantined,
                config.progressInterval().toSeconds(), clock, LOG::info)) {
            spark.sparkContext().addSparkListener(progress);
            long startMs = clock.millis();
            try {
                spark.createDataFrame(rows, CLIP_TYPE).write()
                        .option("compression", "zstd")
                        .option("maxRecordsPerFile", config.maxClipsPerFile())
                        // Tensors are unique megabyte values: dictionaries and min/max statistics only cost time.
                        .option("parquet.enable.dictionary", "false")
                        .option("parquet.column.statistics.enabled#" + ClipSchema.FRAMES, "false")
                        .option("parquet.column.statistics.enabled#" + ClipSchema.PCM, "false")
                        .parquet(clipsStaging.toString());
            } finally {
                spark.sparkContext().removeSparkListener(progress);
            }
            seconds = (clock.millis() - startMs) / 1000.0;
            cpuSeconds = progress.taskCpuSeconds();
            LOG.info(progress.line());
        }

        // A retried task may have added its quarantine rows twice; sources are unique.
        Map<String, QuarantineRecord> bySource = new TreeMap<>();
        Stream.concat(rejected.stream(), quarantine.value().stream()).forEach(q -> bySource.putIfAbsent(q.source(), q));
        Set<String> withClips = new HashSet<>();
        long stagedClips = 0;
        if (fs.globStatus(new Path(clipsStaging, "*.parquet")).length > 0) {
            Dataset<Row> staged = spark.read().parquet(clipsStaging.toString());
            stagedClips = staged.count();
            withClips.addAll(staged.select(ClipSchema.SOURCE).distinct()
                    .as(org.apache.spark.sql.Encoders.STRING()).collectAsList());
        }
        bySource.keySet().removeAll(withClips);
        long seen = todo.size() + rejected.size();
        if (withClips.size() + bySource.size() != seen) {
            throw new IllegalStateException("prep attempt " + attempt + " does not balance: " + seen
                    + " videos seen but " + withClips.size() + " with clips + " + bySource.size()
                    + " quarantined; nothing was committed, staging left at " + staging);
        }
        if (!bySource.isEmpty()) {
            List<Row> qRows = bySource.values().stream()
                    .map(q -> RowFactory.create(q.source(), q.reason().label(), q.detail()))
                    .toList();
            spark.createDataFrame(qRows, QUARANTINE_TYPE).coalesce(1).write()
                    .option("compression", "zstd")
                    .parquet(quarantineStaging.toString());
        }

        // Commit: each rename publishes one whole batch.
        if (!bySource.isEmpty()) {
            Path qRoot = new Path(out, ClipSchema.QUARANTINE_DIR);
            fs.mkdirs(qRoot);
            rename(fs, quarantineStaging, new Path(qRoot, BATCH_PREFIX + attempt));
        }
        if (!withClips.isEmpty()) {
            rename(fs, clipsStaging, new Path(out, BATCH_PREFIX + attempt));
        }
        fs.delete(staging.getParent(), true); // one run at a time per output: all of _staging is ours
        return new Stage(stagedClips, seconds, cpuSeconds);
    }

    private static void rename(FileSystem fs, Path from, Path to) throws IOException {
        if (!fs.rename(from, to)) {
            throw new IOException("Cannot commit " + from + " to " + to + ": rename failed");
        }
    }

    private static List<Path> batches(FileSystem fs, Path dir) throws IOException {
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

    private Dataset<Row> readBatches(List<Path> dirs) {
        return spark.read().parquet(dirs.stream().map(Path::toString).toArray(String[]::new));
    }

    private Set<String> committedSources(FileSystem fs, Path out) throws IOException {
        Set<String> done = new HashSet<>();
        for (List<Path> dirs : List.of(batches(fs, out), batches(fs, new Path(out, ClipSchema.QUARANTINE_DIR)))) {
            if (!dirs.isEmpty()) {
                done.addAll(readBatches(dirs).select(ClipSchema.SOURCE).distinct()
                        .as(org.apache.spark.sql.Encoders.STRING()).collectAsList());
            }
        }
        return done;
    }

    private static JsonObject readDatasetJson(FileSystem fs, Path out) throws IOException {
        Path p = new Path(out, ClipSchema.DATASET_JSON);
        if (!fs.exists(p)) {
            return null;
        }
        try (InputStream in = fs.open(p)) {
            return JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
    }

    private void checkSameSampling(JsonObject previous, Path out) {
        if (previous == null) {
            return;
        }
        int version = previous.get("schema_version").getAsInt();
        if (version != ClipSchema.VERSION && version != ClipSchema.VERSION_UNLABELLED) {
            throw PrepConfig.invalid(PrepConfig.OUTPUT, out, "holds schema version " + version
                    + ", this build appends to versions " + ClipSchema.VERSION_UNLABELLED + " and " + ClipSchema.VERSION
                    + " only");
        }
        int stride = previous.getAsJsonObject("sampling").get("window_stride").getAsInt();
        if (stride != config.windowStride()) {
            throw PrepConfig.invalid(PrepConfig.WINDOW_STRIDE, config.windowStride(), "the dataset at " + out
                    + " was made with " + stride);
        }
    }

    /** Rows per value of {@code column}, keyed by {@code name} of the value, in key order. */
    private static Map<String, Long> countBy(Dataset<Row> rows, String column, Function<Object, String> name) {
        Map<String, Long> counts = new TreeMap<>();
        for (Row r : rows.groupBy(column).count().collectAsList()) {
            counts.put(name.apply(r.get(0)), r.getLong(1));
        }
        return counts;
    }

    /**
     * A dataset keeps one label space: a run whose manifest's label space (or its absence) differs from the
     * dataset's fails before it writes anything.
     *
     * @param existing the dataset's label space; empty when it is unlabelled or new
     * @param isNew whether there is no dataset at {@code out} yet
     */
    static void checkSameLabelSpace(PrepConfig config, boolean isNew, Optional<LabelSpace> existing,
            Optional<LabelSpace> space, Object out) {
        if (isNew || existing.equals(space)) {
            return;
        }
        if (space.isEmpty()) {
            throw PrepConfig.invalid(PrepConfig.INPUT, config.input(), "the dataset at " + out + " is labelled ("
                    + describe(existing) + "); add videos to it with --" + PrepConfig.MANIFEST + ", or prepare"
                    + " into a new output");
        }
        throw PrepConfig.invalid(PrepConfig.MANIFEST, config.manifest(), "its labels (" + describe(space)
                + ") differ from those of the dataset at " + out + " (" + describe(existing) + "); prepare into a new"
                + " output, or list the same classes or dimensions");
    }

    private static String describe(Optional<LabelSpace> space) {
        return space.map(s -> s.kind().label() + " " + s.names()).orElse("unlabelled");
    }

    /**
     * A video already in the dataset must have the labels the manifest gives it now: its clips are not prepared
     * again, so a changed label, split or fold would silently not apply.
     */
    private void checkCommittedLabels(FileSystem fs, Path out, Manifest manifest, InputListing.Result listing)
            throws IOException {
        List<Path> dirs = batches(fs, out);
        if (dirs.isEmpty()) {
            return;
        }
        Map<String, InputFile> bySource = new HashMap<>();
        listing.files().forEach(f -> bySource.put(f.source(), f));
        List<Row> committed = readBatches(dirs)
                .select(ClipSchema.SOURCE, ClipSchema.LABEL, ClipSchema.DIMENSIONS, ClipSchema.SPLIT, ClipSchema.FOLD)
                .distinct().collectAsList();
        for (Row r : committed) {
            InputFile f = bySource.get(r.getString(0));
            if (f == null) {
                continue;
            }
            float[] dims = new float[r.isNullAt(2) ? 0 : r.getList(2).size()];
            for (int i = 0; i < dims.length; i++) {
                dims[i] = r.<Float>getList(2).get(i);
            }
            ClipLabels before = new ClipLabels(r.isNullAt(1) ? ClipLabels.NO_CATEGORY : r.getInt(1), dims,
                    r.isNullAt(3) ? null : r.getString(3), r.isNullAt(4) ? ClipLabels.NO_FOLD : r.getInt(4));
            if (!before.equals(f.labels())) {
                throw PrepConfig.invalid(PrepConfig.MANIFEST, manifest.file(), "video " + f.source() + " is already"
                        + " in the dataset at " + out + " with " + before + ", the manifest now gives " + f.labels()
                        + "; prepare into a new output to change labels");
            }
        }
    }

    private Summary writeDatasetJson(FileSystem fs, Path out, JsonObject previous, Optional<LabelSpace> space,
            String attempt, long newVideos, Stage stage) throws IOException {
        List<Path> clipBatches = batches(fs, out);
        List<Path> qBatches = batches(fs, new Path(out, ClipSchema.QUARANTINE_DIR));
        long clips = 0;
        long withClips = 0;
        long bytes = 0;
        if (!clipBatches.isEmpty()) {
            Dataset<Row> all = readBatches(clipBatches);
            clips = all.count();
            withClips = all.select(ClipSchema.SOURCE).distinct().count();
            for (Path b : clipBatches) {
                bytes += fs.getContentSummary(b).getLength();
            }
        }
        Map<String, Long> byReason = new TreeMap<>();
        if (!qBatches.isEmpty()) {
            for (Row r : readBatches(qBatches).groupBy(ClipSchema.Q_REASON).count().collectAsList()) {
                byReason.put(r.getString(0), r.getLong(1));
            }
        }
        long quarantined = byReason.values().stream().mapToLong(Long::longValue).sum();
        double bytesPerClip = clips == 0 ? 0 : bytes / (double) clips;

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("schema_version", ClipSchema.VERSION);
        space.ifPresent(s -> json.put(ClipSchema.DATASET_LABELS, s.toJson()));
        Map<String, Object> sampling = new LinkedHashMap<>();
        sampling.put("frames_per_clip", ClipSchema.FRAMES_PER_CLIP);
        sampling.put("frame_stride", ClipSchema.FRAME_STRIDE);
        sampling.put("window_frames", ClipSchema.WINDOW_FRAMES);
        sampling.put("window_stride", config.windowStride());
        sampling.put("reference_fps", ClipSchema.REFERENCE_FPS);
        sampling.put("scaled_size", ClipSchema.SCALED_SIZE);
        sampling.put("crop_rows", List.of(ClipSchema.CROP_TOP, ClipSchema.CROP_TOP + ClipSchema.CROP_SIZE));
        sampling.put("crop_cols", List.of(ClipSchema.CROP_LEFT, ClipSchema.CROP_LEFT + ClipSchema.CROP_SIZE));
        sampling.put("audio_sample_rate", ClipSchema.AUDIO_SAMPLE_RATE);
        sampling.put("samples_per_clip", ClipSchema.SAMPLES_PER_CLIP);
        json.put("sampling", sampling);
        json.put("frames", Map.of("shape", List.of(ClipSchema.FRAMES_PER_CLIP, ClipSchema.CROP_SIZE,
                ClipSchema.CROP_SIZE, ClipSchema.COLOR_CHANNELS), "dtype", "uint8", "layout", "THWC, RGB"));
        json.put("pcm", Map.of("shape", List.of(ClipSchema.SAMPLES_PER_CLIP), "dtype", "int16 little-endian",
                "layout", "mono"));
        Map<String, Object> counts = new LinkedHashMap<>();
        counts.put("videos_seen", withClips + quarantined);
        counts.put("videos_with_clips", withClips);
        counts.put("videos_quarantined", quarantined);
        counts.put("clips", clips);
        counts.put("quarantined_by_reason", byReason);
        if (space.isPresent() && !clipBatches.isEmpty()) {
            Dataset<Row> all = readBatches(clipBatches);
            if (space.get().kind() == LabelSpace.Kind.CATEGORICAL) {
                counts.put("clips_by_class", countBy(all, ClipSchema.LABEL, k -> space.get().names().get((Integer) k)));
            }
            counts.put("clips_by_split", countBy(all, ClipSchema.SPLIT, k -> k == null ? "(none)" : (String) k));
            counts.put("clips_by_fold", countBy(all, ClipSchema.FOLD, k -> k == null ? "(none)" : k.toString()));
        }
        json.put("counts", counts);
        json.put("clip_file_bytes", bytes);
        json.put("bytes_per_clip", Math.round(bytesPerClip));
        json.put("batches", clipBatches.stream().map(Path::getName).toList());
        String now = Instant.now(clock).toString();
        json.put("created_at", previous == null ? now : previous.get("created_at").getAsString());
        json.put("updated_at", now);
        json.put("config", config.toMap());

        Gson gson = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
        Path target = new Path(out, ClipSchema.DATASET_JSON);
        Path tmp = new Path(out, "." + ClipSchema.DATASET_JSON + ".tmp");
        fs.mkdirs(out);
        try (OutputStream os = fs.create(tmp, true)) {
            os.write(gson.toJson(json).getBytes(StandardCharsets.UTF_8));
        }
        fs.delete(target, false);
        rename(fs, tmp, target);
        return new Summary(attempt, newVideos, stage.clips(), stage.seconds(), stage.cpuSeconds(),
                spark.sparkContext().defaultParallelism(),
                withClips + quarantined, withClips, quarantined, clips, bytesPerClip);
    }

    /** Decodes one partition of videos into clip rows, lazily, one video at a time. */
    static final class DecodePartition implements FlatMapFunction<Iterator<InputFile>, Row> {
        private final PrepConfig config;
        private final Broadcast<SerializableConfiguration> hadoopConf;
        private final LongAccumulator videosDone;
        private final LongAccumulator clips;
        private final LongAccumulator quarantined;
        private final CollectionAccumulator<QuarantineRecord> quarantine;

        DecodePartition(PrepConfig config, Broadcast<SerializableConfiguration> hadoopConf,
                LongAccumulator videosDone, LongAccumulator clips, LongAccumulator quarantined,
                CollectionAccumulator<QuarantineRecord> quarantine) {
            this.config = config;
            this.hadoopConf = hadoopConf;
            this.videosDone = videosDone;
            this.clips = clips;
            this.quarantined = quarantined;
            this.quarantine = quarantine;
        }

        @Override
        public Iterator<Row> call(Iterator<InputFile> files) throws IOException {
            FfmpegNatives.ensureLoaded(); // a machine without FFmpeg fails the task, never quarantines videos
            java.nio.file.Path tmp = Files.createTempDirectory("hicmae-prep-");
            Configuration conf = hadoopConf.value().value();
            // Copies run on their own daemon threads: one that hangs in a read is abandoned at the deadline.
            ExecutorService copier = Executors.newCachedThreadPool(r -> {
                Thread t = new Thread(r, "prep-copy");
                t.setDaemon(true);
                return t;
            });
            TaskContext task = TaskContext.get();
            if (task != null) {
                task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> {
                    copier.shutdownNow();
                    deleteTree(tmp);
                });
            }
            VideoClipDecoder decoder = new VideoClipDecoder(
                    new ClipSampler(config.windowStride()), config.decodeTimeout(), Clock.systemUTC());
            ClipSpool spool = new ClipSpool((long) config.spoolMemoryMb() << 20, tmp);
            return new Iterator<>() {
                private Iterator<ClipRecord> current = Collections.emptyIterator();
                private ClipLabels labels;

                @Override
                public boolean hasNext() {
                    while (!current.hasNext() && files.hasNext()) {
                        InputFile f = files.next();
                        labels = f.labels();
                        current = decodeOne(f);
                    }
                    return current.hasNext();
                }

                @Override
                public Row next() {
                    if (!hasNext()) {
                        throw new NoSuchElementException();
                    }
                    return toRow(current.next(), labels);
                }

                private Iterator<ClipRecord> decodeOne(InputFile f) {
                    DecodeOutcome outcome;
                    java.nio.file.Path local = null;
                    try {
                        local = f.local() ? java.nio.file.Path.of(f.path()) : fetch(f, tmp, conf, copier);
                        outcome = local != null ? decoder.decode(local, f.source(), spool)
                                : new DecodeOutcome(f.source(), 0, new QuarantineRecord(f.source(),
                                        QuarantineReason.TIMEOUT, "copying " + f.path() + " to the executor took"
                                                + " longer than the deadline of " + config.decodeTimeout()));
                    } catch (IOException e) {
                        outcome = new DecodeOutcome(f.source(), 0, new QuarantineRecord(f.source(),
                                QuarantineReason.IO_ERROR, "cannot copy " + f.path() + " to the executor: " + e));
                    } finally {
                        if (!f.local() && local != null) {
                            local.toFile().delete();
                        }
                    }
                    videosDone.add(1);
                    if (outcome.isQuarantined()) {
                        spool.clear();
                        quarantined.add(1);
                        quarantine.add(outcome.quarantine());
                        return Collections.emptyIterator();
                    }
                    clips.add(outcome.clips());
                    return spool.drain();
                }
            };
        }

        private static void closeQuietly(InputStream in, InputFile f) {
            if (in == null) {
                return;
            }
            try {
                in.close();
            } catch (IOException | RuntimeException e) {
                LOG.warn("Closing the stream of abandoned copy {} failed: {}", f.path(), e.toString());
            }
        }

        /**
         * Streams a remote file to local disk, never into memory, within the per-video deadline; returns null when
         * the deadline passed. The copy is then interrupted and its stream closed, which ends a read blocked on a
         * socket; a thread that still hangs is a daemon and no longer waited for.
         */
        private java.nio.file.Path fetch(InputFile f, java.nio.file.Path tmp, Configuration conf,
                ExecutorService copier) throws IOException {
            java.nio.file.Path local = Files.createTempFile(tmp, "video-", ".bin");
            AtomicReference<InputStream> stream = new AtomicReference<>();
            Future<?> copy = copier.submit(() -> {
                Path remote = new Path(URI.create(f.path()));
                try (InputStream in = remote.getFileSystem(conf).open(remote)) {
                    stream.set(in);
                    Files.copy(in, local, StandardCopyOption.REPLACE_EXISTING);
                }
                return null;
            });
            try {
                copy.get(config.decodeTimeout().toMillis(), TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                copy.cancel(true);
                closeQuietly(stream.get(), f);
                Files.deleteIfExists(local);
                return null;
            } catch (InterruptedException e) {
                copy.cancel(true);
                closeQuietly(stream.get(), f);
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while copying " + f.path() + " to the executor");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
            }
            return local;
        }

        /** A clip row ({@link #CLIP_TYPE}); the label columns are null when {@code l} is. */
        private static Row toRow(ClipRecord c, ClipLabels l) {
            Integer label = l != null && l.isCategorical() ? l.category() : null;
            scala.collection.Seq<Float> dimensions = null; // Spark's Row encoder takes a Scala Seq for an array
            if (l != null && !l.isCategorical()) {
                List<Float> values = new ArrayList<>(l.dimensions().length);
                for (float d : l.dimensions()) {
                    values.add(d);
                }
                dimensions = scala.jdk.javaapi.CollectionConverters.asScala(values).toSeq();
            }
            Integer fold = l == null || l.fold() == ClipLabels.NO_FOLD ? null : l.fold();
            return RowFactory.create(c.clipId(), c.source(), c.window(), c.startS(), c.fps(), c.frames(), c.pcm(),
                    ClipSchema.FRAMES_PER_CLIP, ClipSchema.CROP_SIZE, ClipSchema.CROP_SIZE, ClipSchema.COLOR_CHANNELS,
                    ClipSchema.AUDIO_SAMPLE_RATE, ClipSchema.SAMPLES_PER_CLIP, label, dimensions,
                    l == null ? null : l.split(), fold);
        }

        private static void deleteTree(java.nio.file.Path dir) {
            try (Stream<java.nio.file.Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot delete executor scratch directory " + dir, e);
            }
        }
    }
}
