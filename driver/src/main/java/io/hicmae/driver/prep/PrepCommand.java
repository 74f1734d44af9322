package io.hicmae.driver.prep;

import io.hicmae.runtime.data.ClipSchema;
import io.hicmae.runtime.data.LabelSpace;
import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code hicmae prep}: turns a tree of videos, or the videos a labelled manifest lists, into the Parquet clip dataset
 * (see {@link PrepJob} and {@link Manifest}).
 */
@Command(
        name = "prep",
        mixinStandardHelpOptions = true,
        description = "Decode videos into Parquet clip tensors (16x160x160x3 uint8 + 40960 s16 samples), with a"
                + " quarantine for broken files. Idempotent: a second run adds only new videos. With --manifest, only"
                + " the listed videos are prepared and each clip row carries its video's label (class index or float"
                + " targets), split and fold; the label space goes into _dataset.json, and appending with another"
                + " label space fails before anything is written. Give exactly one of --input and --manifest.")
public final class PrepCommand implements Callable<Integer> {

    @Option(names = "--dry-run", description = "Validate the whole configuration, print it (with --manifest: the label"
            + " space and videos per class, split and fold, checked against the output's labels), and exit without"
            + " Spark.")
    boolean dryRun;

    @Option(names = "--" + PrepConfig.INPUT, description = PrepConfig.INPUT_DOC)
    String input;

    @Option(names = "--" + PrepConfig.MANIFEST, description = PrepConfig.MANIFEST_DOC)
    String manifest;

    @Option(names = "--" + PrepConfig.OUTPUT, required = true, description = PrepConfig.OUTPUT_DOC)
    String output;

    @Option(names = "--" + PrepConfig.MASTER, description = PrepConfig.MASTER_DOC)
    String master;

    @Option(names = "--" + PrepConfig.WINDOW_STRIDE, description = PrepConfig.WINDOW_STRIDE_DOC)
    int windowStride = PrepConfig.WINDOW_STRIDE_DEFAULT;

    @Option(names = "--" + PrepConfig.DECODE_TIMEOUT_S, description = PrepConfig.DECODE_TIMEOUT_S_DOC)
    int decodeTimeoutS = PrepConfig.DECODE_TIMEOUT_S_DEFAULT;

    @Option(names = "--" + PrepConfig.VIDEOS_PER_TASK, description = PrepConfig.VIDEOS_PER_TASK_DOC)
    int videosPerTask = PrepConfig.VIDEOS_PER_TASK_DEFAULT;

    @Option(names = "--" + PrepConfig.TARGET_FILE_MB, description = PrepConfig.TARGET_FILE_MB_DOC)
    int targetFileMb = PrepConfig.TARGET_FILE_MB_DEFAULT;

    @Option(names = "--" + PrepConfig.SPOOL_MEMORY_MB, description = PrepConfig.SPOOL_MEMORY_MB_DOC)
    int spoolMemoryMb = PrepConfig.SPOOL_MEMORY_MB_DEFAULT;

    @Option(names = "--" + PrepConfig.EXTENSIONS, description = PrepConfig.EXTENSIONS_DOC)
    String extensions = PrepConfig.EXTENSIONS_DEFAULT;

    @Option(names = "--" + PrepConfig.PROGRESS_INTERVAL_S, description = PrepConfig.PROGRESS_INTERVAL_S_DOC)
    int progressIntervalS = PrepConfig.PROGRESS_INTERVAL_S_DEFAULT;

    /** The typed config these options make; fails with the key and value at fault. */
    PrepConfig config() {
        String m = master != null ? master : System.getProperty("spark.master", PrepConfig.MASTER_DEFAULT);
        return new PrepConfig(input, output, m, windowStride, Duration.ofSeconds(decodeTimeoutS), videosPerTask,
                targetFileMb, spoolMemoryMb, PrepConfig.parseExtensions(extensions),
                Duration.ofSeconds(progressIntervalS), manifest);
    }

    /** Parses the manifest, prints what it holds, and checks its label space against the output's, without Spark. */
    private static void dryRunManifest(PrepConfig config) throws java.io.IOException {
        org.apache.hadoop.conf.Configuration hadoop = new org.apache.hadoop.conf.Configuration();
        Manifest m = Manifest.read(config.manifest(), hadoop);
        m.summary().forEach(System.out::println);
        org.apache.hadoop.fs.Path out = new org.apache.hadoop.fs.Path(config.output());
        org.apache.hadoop.fs.FileSystem fs = out.getFileSystem(hadoop);
        boolean isNew = !fs.exists(new org.apache.hadoop.fs.Path(out, ClipSchema.DATASET_JSON));
        PrepPlan.checkSameLabelSpace(config, isNew, LabelSpace.read(fs.makeQualified(out).toUri().toString(), hadoop),
                java.util.Optional.of(m.space()), out);
        System.out.println(isNew ? "  output " + out + " is new" : "  output " + out + " has the same labels");
    }

    @Override
    public Integer call() throws Exception {
        PrepConfig config = config();
        if (dryRun) {
            System.out.println("prep configuration (valid):");
            new java.util.TreeMap<>(config.toMap()).forEach((k, v) -> System.out.println("  " + k + " = " + v));
            if (config.manifest() != null) {
                dryRunManifest(config);
            }
            return 0;
        }
        org.apache.spark.SparkConf conf = new org.apache.spark.SparkConf().setAppName("hicmae prep").setMaster(config.master());
        io.hicmae.driver.spark.SparkSecurity.apply(conf, System.getenv());
        SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
        try {
            new PrepJob(spark, config, Clock.systemUTC()).run();
        } finally {
            spark.stop();
        }
        return 0;
    }
}
