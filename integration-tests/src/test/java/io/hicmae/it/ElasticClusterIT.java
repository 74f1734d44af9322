package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.driver.spark.RunCheckpoints;
import io.hicmae.driver.prep.ClipRows;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ModelZoo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Elastic pre-training on a real standalone cluster of three one-core Workers: a Worker and its executor are killed
 * with kill -9 while the run trains on 3 ranks; with nobody acting the driver resubmits on the 2 slots left; a new
 * Worker then joins, and the driver has the running 2-rank stage stop at a checkpoint and grow back to 3. The run
 * publishes its version, its metrics show 3, then 2, then 3 ranks over contiguous steps, and the test-mode clip log
 * shows that, counting the final trajectory's steps, every epoch served each clip exactly once.
 */
class ElasticClusterIT {
    /** 24 clips, global batch 12 = 6 micro-batches of 2 (divisible by 2 and 3 ranks): 2 steps per epoch. */
    private static final int CLIPS = 24;
    private static final int GLOBAL_BATCH = 12;
    private static final int MICRO_BATCH = 2;
    /**
     * 100 steps: the kill comes after step 4, and a 2-rank stage then has 96 steps (about 55 s at 0.6 s a step on 2
     * shared cores) to see a Worker return and grow back; both took 15-23 s in the runs measured.
     */
    private static final int EPOCHS = 50;
    private static final Pattern STEP = Pattern.compile("^step (\\d+)/\\d+ ");
    private static final Duration STAGE_TIMEOUT = Duration.ofMinutes(3);

    private static SparkCluster cluster;

    @BeforeAll
    static void start() throws IOException {
        cluster = SparkCluster.builder("ElasticClusterIT").optWorkers(3).start();
    }

    @AfterAll
    static void stop() {
        SparkCluster.closeAndCheck(cluster);
    }

    @Test
    void aKilledWorkerShrinksTheRunWhichGrowsBackWhenAWorkerReturns() throws IOException {
        Path clips = cluster.runDir().resolve("clips");
        writeClips(clips);
        Path zoo = cluster.runDir().resolve("zoo");
        Path clipLog = cluster.runDir().resolve("clip-log");
        Application hicmae = Application.hicmae(cluster.paths());
        SparkSubmitter submitter = new SparkSubmitter(cluster);

        Map<String, String> conf = Map.of(
                "spark.executor.extraJavaOptions", "-Dai.djl.offline=true -Dhicmae.test.clipLog=" + clipLog,
                // The run starts once its 3 executors have registered, so that slot-wait only times a loss.
                "spark.cores.max", "3",
                "spark.scheduler.minRegisteredResourcesRatio", "1.0",
                "spark.scheduler.maxRegisteredResourcesWaitingTime", "120s");
        long t0 = System.nanoTime();
        Submission.Result train;
        try (Submission job = submitter.start("elastic", hicmae, conf, List.of("pretrain", "--data", clips.toString(),
                "--zoo", zoo.toString(), "--model", "elastic", "--preset", "tiny", "--run-id", "elastic",
                "--world-size", "3", "--min-world-size", "2", "--batch-size", Integer.toString(MICRO_BATCH),
                "--global-batch", Integer.toString(GLOBAL_BATCH), "--epochs", Integer.toString(EPOCHS),
                "--checkpoint-every", "4", "--slot-wait-s", "3", "--retry-backoff-ms", "500",
                "--io-timeout-s", "60"))) {
            job.awaitLine("step 4 on 3 ranks", l -> stepOf(l) >= 4, STAGE_TIMEOUT);
            // The kill comes once the step-4 checkpoint is committed, so that steps run on 3 ranks stay in the final
            // trajectory (a kill during its upload would replay them on 2).
            Waits.until("the step-4 checkpoint", STAGE_TIMEOUT, () -> {
                try (ModelZoo z = ModelZoo.open(zoo.toString())) {
                    return z.checkpoints().latest("elastic").filter(c -> c.step() >= 4);
                } catch (IOException | RuntimeException e) {
                    return java.util.Optional.empty();
                }
            }, () -> "");
            cluster.killWorker(2);
            long killedAt = System.nanoTime();
            job.awaitLine("the shrink to 2 ranks",
                    l -> l.startsWith("pretrain: resizing from 3 to 2 rank(s): the cluster offers 2 task slot(s)"),
                    STAGE_TIMEOUT);
            long shrunkAt = System.nanoTime();
            cluster.startWorker();
            long returnedAt = System.nanoTime();
            job.awaitLine("the growth back to 3 ranks",
                    l -> l.startsWith("pretrain: resizing from 2 to 3 rank(s): the cluster offers 3 task slot(s)"),
                    STAGE_TIMEOUT);
            long grewAt = System.nanoTime();
            train = job.awaitExit(STAGE_TIMEOUT);
            System.out.printf("ElasticClusterIT: kill -9 after %d ms, shrunk %d ms after the kill, "
                            + "a Worker back %d ms later, grown %d ms after that; pretrain %d ms%n",
                    (killedAt - t0) / 1_000_000, (shrunkAt - killedAt) / 1_000_000,
                    (returnedAt - shrunkAt) / 1_000_000, (grewAt - returnedAt) / 1_000_000,
                    train.wall().toMillis());
        }
        assertEquals(0, train.exitCode(), train.describe());
        String out = train.output();
        assertTrue(out.contains("pretrain: attempt 1 of 3 failed"), "the kill failed attempt 1" + train.describe());
        assertTrue(Pattern.compile("pretrain: attempt \\d+ stopped at a checkpoint \\(growing from 2 to 3 rank\\(s\\): "
                + "the cluster offers 3 task slot\\(s\\) again\\)").matcher(out).find(), train.describe());
        assertTrue(out.contains("pretrain: published elastic:v000001"), train.describe());

        long total = (long) EPOCHS * CLIPS / GLOBAL_BATCH;
        List<JsonObject> metrics = metrics(zoo);
        assertEquals(total, metrics.size(), "one metrics line per step");
        List<Integer> worlds = new ArrayList<>();
        for (int s = 0; s < total; s++) {
            assertEquals(s + 1, metrics.get(s).get("step").getAsInt(), "contiguous steps");
            int w = metrics.get(s).get("world_size").getAsInt();
            if (worlds.isEmpty() || worlds.get(worlds.size() - 1) != w) {
                worlds.add(w);
            }
        }
        assertEquals(List.of(3, 2, 3), worlds, "world sizes over the steps");
        assertClipsServedOncePerEpoch(clipLog, metrics);
    }

    /**
     * The clips in prep's Parquet layout, generated (talking faces at the stored geometry) and written by a local
     * Spark session in this JVM: decoding videos through prep would cost the test half a minute.
     */
    private static void writeClips(Path dir) {
        GeneratedClips generated = new GeneratedClips(HicmaeConfig.demo(), 11, 4);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < CLIPS; i++) {
            rows.add(ClipRows.generated(String.format("clip%02d", i), "video" + i / 4 + ".mp4", generated.clip(i)));
        }
        SparkSession spark = SparkSession.builder().master("local[1]").appName("ElasticClusterIT-data")
                .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate();
        try {
            spark.createDataFrame(rows, ClipRows.CLIP_TYPE).repartition(2).write().parquet(dir.toString());
        } finally {
            spark.stop();
        }
    }

    private static int stepOf(String line) {
        Matcher m = STEP.matcher(line);
        return m.find() ? Integer.parseInt(m.group(1)) : -1;
    }

    private static List<JsonObject> metrics(Path zoo) throws IOException {
        try (ModelZoo z = ModelZoo.open(zoo.toString())) {
            Checkpoint cp = z.checkpoints().latest("elastic").orElseThrow();
            List<JsonObject> out = new ArrayList<>();
            for (String line : RunCheckpoints.readMetrics(z, cp)) {
                out.add(JsonParser.parseString(line).getAsJsonObject());
            }
            return out;
        }
    }

    /**
     * The final trajectory from the clip log: each step as the last attempt that ran it logged it (an attempt
     * killed mid-step replays it in the next one). Every step has all its micro-batches, on the world size its
     * metrics line records, and each epoch's steps together served every clip exactly once.
     */
    private static void assertClipsServedOncePerEpoch(Path dir, List<JsonObject> metrics) throws IOException {
        Pattern name = Pattern.compile("clips-elastic-a(\\d+)-r(\\d+)\\.log");
        // step -> (attempt -> lines)
        Map<Integer, TreeMap<Integer, List<String[]>>> byStep = new TreeMap<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Matcher m = name.matcher(f.getFileName().toString());
                assertTrue(m.matches(), "unexpected clip log " + f);
                int attempt = Integer.parseInt(m.group(1));
                for (String line : Files.readAllLines(f)) {
                    String[] p = line.split(" ");
                    byStep.computeIfAbsent(Integer.parseInt(p[0]), k -> new TreeMap<>())
                            .computeIfAbsent(attempt, k -> new ArrayList<>()).add(p);
                }
            }
        }
        int stepsPerEpoch = CLIPS / GLOBAL_BATCH;
        assertEquals(metrics.size(), byStep.size(), "every step logged");
        Set<String> epoch = new HashSet<>();
        for (int step = 1; step <= metrics.size(); step++) {
            List<String[]> lines = byStep.get(step).lastEntry().getValue();
            int world = metrics.get(step - 1).get("world_size").getAsInt();
            Set<Integer> slots = new HashSet<>();
            for (String[] p : lines) {
                assertEquals(world, Integer.parseInt(p[1]), "step " + step + "'s world size in the clip log");
                assertTrue(slots.add(Integer.parseInt(p[3])), "step " + step + " logged slot " + p[3] + " twice");
                String[] ids = p[4].split(",");
                assertEquals(MICRO_BATCH, ids.length, "step " + step + " slot " + p[3]);
                for (String id : ids) {
                    assertTrue(epoch.add(id), "clip " + id + " seen twice in the epoch of step " + step);
                }
            }
            assertEquals(GLOBAL_BATCH / MICRO_BATCH, slots.size(), "micro-batches of step " + step);
            if (step % stepsPerEpoch == 0) {
                assertEquals(CLIPS, epoch.size(), "clips of the epoch ending at step " + step);
                epoch.clear();
            }
        }
    }
}
