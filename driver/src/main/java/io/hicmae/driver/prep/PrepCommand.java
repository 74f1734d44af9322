package io.hicmae.driver.prep;

import java.time.Clock;
import java.time.Duration;
import java.util.concurrent.Callable;
import org.apache.spark.sql.SparkSession;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code hicmae prep}: turns a tree of videos into the Parquet clip dataset (see {@link PrepJob}). */
@Command(
        name = "prep",
        mixinStandardHelpOptions = true,
        description = "Decode videos into Parquet clip tensors (16x160x160x3 uint8 + 40960 s16 samples), with a"
                + " quarantine for broken files. Idempotent: a second run adds only new videos.")
public final class PrepCommand implements Callable<Integer> {

    @Option(names = "--dry-run", description = "Validate the whole configuration, print it, and exit without Spark.")
    boolean dryRun;

    @Option(names = "--" + PrepConfig.INPUT, required = true, description = PrepConfig.INPUT_DOC)
    String input;

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
                Duration.ofSeconds(progressIntervalS));
    }

    @Override
    public Integer call() throws Exception {
        PrepConfig config = config();
        if (dryRun) {
            System.out.println("prep configuration (valid):");
            new java.util.TreeMap<>(config.toMap()).forEach((k, v) -> System.out.println("  " + k + " = " + v));
            return 0;
        }
        SparkSession spark = SparkSession.builder().appName("hicmae prep").master(config.master()).getOrCreate();
        try {
            new PrepJob(spark, config, Clock.systemUTC()).run();
        } finally {
            spark.stop();
        }
        return 0;
    }
}
