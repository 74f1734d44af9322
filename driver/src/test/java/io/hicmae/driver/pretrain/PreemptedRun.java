package io.hicmae.driver.pretrain;

import io.hicmae.driver.LocalSessions;
import org.apache.spark.sql.SparkSession;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The child JVM of {@link PreemptionSignalTest}: a local 2-rank pre-training run of 100 steps, agreeing on notices
 * after every step and checkpointing only at its end, that the test stops with a real SIGTERM.
 */
final class PreemptedRun {

    private PreemptedRun() {}

    /** {@code args[0]}: the directory of the clips and the zoo. */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        SparkSession spark = LocalSessions.training(2, "preempted-run").getOrCreate();
        ClipDatasets.write(spark, dir.resolve("clips"), 8, 1, 5);
        Map<String, String> raw = new HashMap<>();
        raw.put("data", dir.resolve("clips").toString());
        raw.put("zoo", dir.resolve("zoo").toString());
        raw.put("preset", "tiny");
        raw.put("world-size", "2");
        raw.put("batch-size", "2");
        raw.put("epochs", "50"); // 8 clips / global batch 4 = 2 steps per epoch: 100 steps
        raw.put("checkpoint-every", "1000");
        raw.put("notice-every", "1");
        raw.put("run-id", "sigterm");
        new PretrainJob(PretrainConfig.parse(raw), System.out).run(spark);
    }
}
