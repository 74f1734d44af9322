package io.hicmae.driver.pretrain;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.driver.spark.RunCheckpoints;
import io.hicmae.driver.spark.RunPlan;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ModelZoo;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A step does not depend on the world size: a run of global batch 8 (4 micro-batches of 2) on 2 ranks, stopped
 * after its step-2 checkpoint and resumed on 1 and on 4 ranks, logs the uninterrupted run's per-step losses (the
 * mean over all micro-batches on all ranks) within 1e-3 relative; and resume refuses settings that would change
 * the trajectory, naming the stored value. Tiny preset, local mode; one test, so that the runs are shared.
 */
class ElasticResumeTest {

    @TempDir static Path dir;
    static SparkSession spark;
    static Path data;

    @BeforeAll
    static void start() {
        spark = io.hicmae.driver.LocalSessions.training(4, "elastic-test").getOrCreate();
        data = dir.resolve("clips");
        ClipDatasets.write(spark, data, 16, 2, 7);
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    private static PretrainConfig config(Path zoo, String... extra) {
        Map<String, String> raw = new HashMap<>();
        raw.put("data", data.toString());
        raw.put("zoo", zoo.toString());
        raw.put("preset", "tiny");
        raw.put("world-size", "2");
        raw.put("batch-size", "2");
        raw.put("global-batch", "8");
        raw.put("epochs", "2"); // floor(16 / 8) = 2 steps per epoch, 4 steps
        raw.put("lr", "3e-3");
        raw.put("warmup-epochs", "0.5");
        raw.put("checkpoint-every", "2");
        raw.put("io-timeout-s", "120");
        raw.put("retry-backoff-ms", "100");
        raw.put("run-id", "elastic");
        for (int i = 0; i < extra.length; i += 2) {
            raw.put(extra[i], extra[i + 1]);
        }
        return PretrainConfig.parse(raw);
    }

    @Test
    void resumingOnOneAndOnFourRanksReproducesTheUninterruptedLosses() throws Exception {
        PrintStream out = System.out;
        List<JsonObject> expected = uninterrupted();

        Path stopped = dir.resolve("stopped");
        // Rank 1 fails at step 2 of the only attempt; rank 0 committed the step-2 checkpoint before reaching it.
        assertThrows(IllegalStateException.class, () -> new PretrainJob(config(stopped, "max-attempts", "1"), out,
                new RunPlan.Fault(0, 2, 1)).run(spark));
        assertRefusals(stopped);
        Path onFour = dir.resolve("on-four");
        copy(stopped, onFour);

        new PretrainJob(config(stopped, "world-size", "1", "global-batch", "0"), out).run(spark);
        new PretrainJob(config(onFour, "world-size", "4"), out).run(spark);
        for (Path resumed : List.of(stopped, onFour)) {
            List<JsonObject> got = metrics(resumed);
            assertEquals(4, got.size(), resumed.toString());
            assertSameLosses(expected, got, resumed.getFileName().toString());
            assertEquals(2, got.get(1).get("world_size").getAsInt(), "steps 1-2 ran on 2 ranks");
        }
        assertEquals(1, metrics(stopped).get(3).get("world_size").getAsInt());
        assertEquals(4, metrics(onFour).get(3).get("world_size").getAsInt());
    }

    @Test
    void anElasticRunShrinksToTheFreeSlotsAndAPreemptionNoticeStopsItAtACheckpoint() throws Exception {
        Path zoo = dir.resolve("elastic");
        java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
        // 8 micro-batches of 2 per step, world-size 8 on 4 slots: after 1 s it goes on with 4 ranks. A notice at
        // step index 1 of attempt 1 stops the stage after step 2, checkpointed; attempt 2 finishes. (In local mode
        // every rank shares the JVM, and so the notice: whichever rank reports it first is named.)
        PretrainJob.Outcome out = new PretrainJob(config(zoo, "world-size", "8", "min-world-size", "2",
                "global-batch", "16", "epochs", "4", "checkpoint-every", "100", "slot-wait-s", "1",
                "notice-every", "1"),
                new PrintStream(console, true, java.nio.charset.StandardCharsets.UTF_8),
                new RunPlan.Fault(1, 1, 1, true)).run(spark);
        String log = console.toString(java.nio.charset.StandardCharsets.UTF_8);
        System.out.print(log);
        assertTrue(log.contains("pretrain: resizing from 8 to 4 rank(s): the cluster offers 4 task slot(s) after "
                + "waiting 1 s for 8"), log);
        assertTrue(log.contains("pretrain: attempt 1 stopped at a checkpoint (rank ")
                && log.contains("injected preemption notice at step 1 on attempt 1); resuming from step 2"), log);
        assertEquals(4, out.steps());
        assertEquals(4, out.ranks().size());
        for (var r : out.ranks()) {
            assertEquals(2, r.resumedFrom(), "rank " + r.rank());
            assertEquals(null, r.stopped());
        }
        try (ModelZoo z = ModelZoo.open(zoo.toString())) {
            assertEquals(List.of(2L, 4L), z.checkpoints().list("elastic").stream().map(Checkpoint::step).toList(),
                    "the stop's checkpoint and the last");
        }
        List<JsonObject> m = metrics(zoo);
        for (int s = 0; s < 4; s++) {
            assertEquals(s + 1, m.get(s).get("step").getAsInt(), "contiguous steps");
            assertEquals(4, m.get(s).get("world_size").getAsInt());
        }
    }

    /**
     * A run started on 2 of world-size 4 grows back while it runs: the (test's) slot count reaches 4 once its stage
     * is submitted, the driver publishes a grow request, the ranks agree on it at a step boundary, rank 0
     * checkpoints, and the stage is resubmitted on 4 ranks without a failure (max-attempts 1). The steps are
     * contiguous, each records its world size, and the losses are the uninterrupted run's.
     */
    @Test
    void aShrunkenRunGrowsBackAtACheckpointWhenSlotsComeBack() throws Exception {
        List<JsonObject> expected = uninterrupted();
        Path zoo = dir.resolve("grow");
        java.util.concurrent.atomic.AtomicBoolean submitted = new java.util.concurrent.atomic.AtomicBoolean();
        org.apache.spark.scheduler.SparkListener listener = new org.apache.spark.scheduler.SparkListener() {
            @Override
            public void onJobStart(org.apache.spark.scheduler.SparkListenerJobStart job) {
                if ("elastic-grow".equals(job.properties().getProperty("spark.job.description"))) {
                    submitted.set(true);
                }
            }
        };
        java.io.ByteArrayOutputStream console = new java.io.ByteArrayOutputStream();
        spark.sparkContext().addSparkListener(listener);
        spark.sparkContext().setJobDescription("elastic-grow");
        PretrainJob.Outcome out;
        try {
            out = new PretrainJob(config(zoo, "world-size", "4", "min-world-size", "2", "slot-wait-s", "1",
                    "notice-every", "1", "checkpoint-every", "100", "max-attempts", "1"),
                    new PrintStream(console, true, java.nio.charset.StandardCharsets.UTF_8), null,
                    () -> submitted.get() ? 4 : 2).run(spark);
        } finally {
            spark.sparkContext().setJobDescription(null);
            spark.sparkContext().removeSparkListener(listener);
        }
        String log = console.toString(java.nio.charset.StandardCharsets.UTF_8);
        System.out.print(log);
        assertTrue(log.contains("pretrain: resizing from 4 to 2 rank(s): the cluster offers 2 task slot(s) after "
                + "waiting 1 s for 4"), log);
        java.util.regex.Matcher stop = java.util.regex.Pattern.compile("pretrain: attempt 1 stopped at a checkpoint "
                + "\\(growing from 2 to 4 rank\\(s\\): the cluster offers 4 task slot\\(s\\) again\\); resuming from "
                + "step (\\d)").matcher(log);
        assertTrue(stop.find(), log);
        int grewAt = Integer.parseInt(stop.group(1));
        assertTrue(log.contains("pretrain: resizing from 2 to 4 rank(s): the cluster offers 4 task slot(s) again"),
                log);
        assertEquals(4, out.steps());
        assertEquals(4, out.ranks().size());
        for (var r : out.ranks()) {
            assertEquals(grewAt, r.resumedFrom(), "rank " + r.rank());
        }
        List<JsonObject> m = metrics(zoo, "elastic");
        assertSameLosses(expected, m, "grown");
        for (int s = 0; s < 4; s++) {
            assertEquals(s + 1, m.get(s).get("step").getAsInt(), "contiguous steps");
            assertEquals(s < grewAt ? 2 : 4, m.get(s).get("world_size").getAsInt(), "step " + (s + 1));
        }
    }

    /**
     * {@code --preprocessing device} on the CPU (a GPU's form: crop, normalisation and fbank as batched engine
     * operations on the step's device) trains the steps of the default host form: the same clips, windows, gains and
     * masks, video inputs byte for byte and the fbank within the golden tolerance, so every loss term agrees closely.
     */
    @Test
    void theDeviceFormOfPreprocessingTrainsTheHostFormsSteps() throws Exception {
        List<JsonObject> host = uninterrupted();
        Path zoo = dir.resolve("device-form");
        new PretrainJob(config(zoo, "preprocessing", "device"), System.out).run(spark);
        List<JsonObject> device = metrics(zoo);
        assertEquals(host.size(), device.size());
        for (int s = 0; s < host.size(); s++) {
            for (String k : new String[] {"loss", "video", "audio", "contrastive"}) {
                double e = host.get(s).get(k).getAsDouble();
                double a = device.get(s).get(k).getAsDouble();
                System.out.printf("preprocessing forms: step %d %s host %.7f device %.7f%n", s + 1, k, e, a);
                assertTrue(Math.abs(a - e) <= 1e-4 * Math.abs(e), "step " + (s + 1) + " " + k + ": device form " + a
                        + ", host form " + e);
            }
        }
    }

    private static List<JsonObject> straight;

    /** The uninterrupted run on 2 ranks: global batch 8, 4 steps (run once, shared by the tests). */
    private static synchronized List<JsonObject> uninterrupted() throws IOException {
        if (straight == null) {
            Path zoo = dir.resolve("straight");
            new PretrainJob(config(zoo), System.out).run(spark);
            straight = metrics(zoo);
            assertEquals(4, straight.size());
        }
        return straight;
    }

    private static void assertSameLosses(List<JsonObject> expected, List<JsonObject> got, String what) {
        assertEquals(expected.size(), got.size(), what);
        for (int s = 0; s < expected.size(); s++) {
            for (String k : new String[] {"loss", "video", "audio", "contrastive", "lr"}) {
                double e = expected.get(s).get(k).getAsDouble();
                double a = got.get(s).get(k).getAsDouble();
                assertTrue(Math.abs(a - e) <= 1e-3 * Math.abs(e), what + " step " + (s + 1) + " " + k + ": " + a
                        + ", uninterrupted " + e);
            }
            assertEquals(8, got.get(s).get("clips").getAsInt());
        }
    }

    /** Resume refuses settings that would change the trajectory, before anything runs. */
    private static void assertRefusals(Path zoo) {
        String[][] cases = {
            {"batch-size", "4", "trained with batch-size 2"},
            {"global-batch", "16", "trained with global-batch 8"},
            {"seed", "3", "trained with seed 0"},
            {"preset", "demo", "trained with preset tiny"},
        };
        for (String[] c : cases) {
            Exception e = assertThrows(IllegalArgumentException.class,
                    () -> new PretrainJob(config(zoo, c[0], c[1]), System.out).run(spark));
            assertTrue(e.getMessage().startsWith("Invalid value " + c[1] + " for configuration " + c[0])
                    && e.getMessage().contains(c[2]), e.getMessage());
        }
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> new PretrainJob(config(zoo, "world-size", "3"), System.out).run(spark));
        assertTrue(e.getMessage().startsWith("Invalid value 3 for configuration world-size: does not divide the 4 "
                + "micro-batches"), e.getMessage());
    }

    private static List<JsonObject> metrics(Path zoo) throws IOException {
        return metrics(zoo, "elastic");
    }

    private static List<JsonObject> metrics(Path zoo, String runId) throws IOException {
        try (ModelZoo z = ModelZoo.open(zoo.toString())) {
            Checkpoint cp = z.checkpoints().latest(runId).orElseThrow();
            List<JsonObject> out = new ArrayList<>();
            for (String line : RunCheckpoints.readMetrics(z, cp)) {
                out.add(JsonParser.parseString(line).getAsJsonObject());
            }
            return out;
        }
    }

    private static void copy(Path from, Path to) throws IOException {
        try (Stream<Path> files = Files.walk(from)) {
            files.forEach(p -> {
                try {
                    Files.copy(p, to.resolve(from.relativize(p).toString()));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }
}
