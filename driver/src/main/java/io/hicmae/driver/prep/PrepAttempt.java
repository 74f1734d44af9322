package io.hicmae.driver.prep;

import io.hicmae.driver.prep.InputListing.InputFile;
import io.hicmae.prep.QuarantineRecord;
import io.hicmae.runtime.data.ClipSchema;
import java.io.IOException;
import java.time.Clock;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;

/**
 * One prep attempt: decodes the planned videos on the executors ({@link DecodePartition}) into the attempt's staging
 * directory, checks that every video ended with clips or in the quarantine, and only then commits by renaming the
 * quarantine batch first and the clip batch second. A failure before the commit leaves the committed output as it
 * was; the next run deletes the stale staging directory.
 */
final class PrepAttempt {

    private static final Logger LOG = LogManager.getLogger(PrepAttempt.class);

    /** Clips written by an attempt's decode stage, its wall time and its tasks' CPU time. */
    record Stage(long clips, double seconds, double cpuSeconds) {
        static final Stage NONE = new Stage(0, 0, 0);
    }

    private final SparkSession spark;
    private final PrepConfig config;
    private final PrepOutput output;
    private final Clock clock;

    PrepAttempt(SparkSession spark, PrepConfig config, PrepOutput output, Clock clock) {
        this.spark = spark;
        this.config = config;
        this.output = output;
        this.clock = clock;
    }

    /** Decodes {@code todo}, quarantines {@code rejected} with it, and commits both as batches of {@code attempt}. */
    Stage run(String attempt, List<InputFile> todo, List<QuarantineRecord> rejected) throws IOException {
        Path staging = output.staging(attempt);
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
                config, output.root().toString(), hadoopConf, videosDone, clips, quarantined, quarantine));
        try (PrepProgress progress = new PrepProgress(todo.size(), videosDone, clips, quarantined,
                config.progressInterval().toSeconds(), clock, LOG::info)) {
            spark.sparkContext().addSparkListener(progress);
            long startMs = clock.millis();
            try {
                spark.createDataFrame(rows, ClipRows.CLIP_TYPE).write()
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
        if (output.fs().globStatus(new Path(clipsStaging, "*.parquet")).length > 0) {
            Dataset<Row> staged = spark.read().parquet(clipsStaging.toString());
            stagedClips = staged.count();
            withClips.addAll(staged.select(ClipSchema.SOURCE).distinct().as(Encoders.STRING()).collectAsList());
        }
        bySource.keySet().removeAll(withClips);
        long seen = todo.size() + rejected.size();
        if (withClips.size() + bySource.size() != seen) {
            throw new IllegalStateException("prep attempt " + attempt + " does not balance: " + seen
                    + " videos seen but " + withClips.size() + " with clips + " + bySource.size()
                    + " quarantined; nothing was committed, staging left at " + staging);
        }
        if (!bySource.isEmpty()) {
            List<Row> qRows = bySource.values().stream().map(ClipRows::quarantine).toList();
            spark.createDataFrame(qRows, ClipRows.QUARANTINE_TYPE).coalesce(1).write()
                    .option("compression", "zstd")
                    .parquet(quarantineStaging.toString());
        }

        // Commit: each rename publishes one whole batch.
        if (!bySource.isEmpty()) {
            output.commitQuarantine(quarantineStaging, attempt);
        }
        if (!withClips.isEmpty()) {
            output.commitClips(clipsStaging, attempt);
        }
        output.deleteStaging(); // one run at a time per output: all of _staging is ours
        output.fs().delete(new Path(output.root(), PrepJournal.DIR), true); // every video started here finished
        return new Stage(stagedClips, seconds, cpuSeconds);
    }
}
