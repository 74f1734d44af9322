package io.hicmae.driver.prep;

import java.io.IOException;
import java.time.Clock;
import java.time.Instant;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.sql.SparkSession;

/**
 * The prep job: videos in, Parquet clip tensors out, with a quarantine for what is broken.
 *
 * <p>A run plans on the driver ({@link PrepPlan}: list the input, check it against the output, skip every source
 * already in a committed batch or the quarantine), decodes the rest on the executors and commits them as one batch
 * ({@link PrepAttempt}, {@link DecodePartition}; layout in {@link PrepOutput}), and writes {@code _dataset.json}
 * last ({@link DatasetDescriptor}). A run killed at any point leaves the committed output as it was or with whole
 * batches, so running again ends with exactly the rows of one clean run. A labelled run (a {@link Manifest}) writes
 * each video's labels into its clip rows; it must keep the dataset's label space and the labels of the videos
 * already in it, both checked before anything is written. One run at a time per output; the next run deletes stale
 * staging directories. On S3 a rename is a copy, so a batch counts only once {@code _dataset.json}, written last,
 * lists it ({@link PrepOutput}); a video that keeps killing its task ends in the quarantine ({@link PrepJournal}).
 */
public final class PrepJob {

    private static final Logger LOG = LogManager.getLogger(PrepJob.class);

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
        PrepOutput output = new PrepOutput(spark, fs, out, DatasetDescriptor.read(fs, out));
        PrepPlan plan = PrepPlan.make(config, output, hadoop);
        output.deleteStaging();
        for (Path debris : output.deleteIncomplete()) {
            LOG.warn("prep: deleted {}: no _dataset.json lists it (a commit that died half-way); its videos are"
                    + " prepared again", debris);
        }
        LOG.info("prep: {} inputs under {}, {} already in {}, {} to decode, {} rejected by the listing",
                plan.seen(), plan.root(), plan.seen() - plan.newVideos(), output.root(), plan.todo().size(),
                plan.rejected().size());

        String attempt = null;
        PrepAttempt.Stage stage = PrepAttempt.Stage.NONE;
        if (plan.newVideos() > 0) {
            attempt = Instant.now(clock).toString().replaceAll("[-:.]", "") + "-"
                    + UUID.randomUUID().toString().substring(0, 8);
            stage = new PrepAttempt(spark, config, output, clock).run(attempt, plan.todo(), plan.rejected());
        }
        DatasetDescriptor.Counts c = DatasetDescriptor.write(output, config, plan.previous(), plan.space(), clock);
        Summary summary = new Summary(attempt, plan.newVideos(), stage.clips(), stage.seconds(), stage.cpuSeconds(),
                spark.sparkContext().defaultParallelism(), c.videosWithClips() + c.videosQuarantined(),
                c.videosWithClips(), c.videosQuarantined(), c.clips(), c.bytesPerClip());
        System.out.println(summary.line());
        return summary;
    }
}
