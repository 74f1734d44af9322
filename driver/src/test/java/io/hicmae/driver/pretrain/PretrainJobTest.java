package io.hicmae.driver.pretrain;

import io.hicmae.driver.spark.RankResult;
import io.hicmae.driver.spark.RunPlan;
import io.hicmae.zoo.ModelRef;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.RunLease;
import io.hicmae.zoo.RunLeaseException;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PretrainJobTest {

    @TempDir static Path dir;
    static SparkSession spark;
    static Path data;

    @BeforeAll
    static void start() {
        spark = io.hicmae.driver.LocalSessions.training(2, "pretrain-test").getOrCreate();
        data = dir.resolve("clips");
        ClipDatasets.write(spark, data, 12, 2, 5);
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
        raw.put("lr", "3e-3");
        raw.put("warmup-epochs", "0.5");
        raw.put("io-timeout-s", "120");
        for (int i = 0; i < extra.length; i += 2) {
            raw.put(extra[i], extra[i + 1]);
        }
        return PretrainConfig.parse(raw);
    }

    @Test
    void twoRanksTrainCheckpointAndPublishAVerifiedVersion() throws Exception {
        Path zoo = dir.resolve("zoo1");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        PretrainJob.Outcome out = new PretrainJob(config(zoo, "epochs", "2", "checkpoint-every", "2", "alias", "nightly"),
                new PrintStream(console, true, StandardCharsets.UTF_8)).run(spark);
        String log = console.toString(StandardCharsets.UTF_8);
        System.out.print(log);
        assertEquals(6, out.steps(), "12 clips / (2 ranks x 2) = 3 steps per epoch, 2 epochs");
        assertEquals(2, out.ranks().size());
        assertEquals(out.ranks().get(0).parameterDigest(), out.ranks().get(1).parameterDigest());
        assertTrue(log.contains("step 6/6"), log);
        assertTrue(log.contains("pretrain: rank 1 trained on cpu(), steps 0 to 6"), log);
        try (ModelZoo z = ModelZoo.open(zoo.toString())) {
            assertEquals(1, z.verify(ModelRef.parse("hicmae@nightly")).number());
            assertEquals(3, z.checkpoints().list(out.runId()).size(), "checkpoints at steps 2, 4 and 6");
        }
    }

    @Test
    void aFailedRankIsRetriedFromTheLastCheckpoint() throws Exception {
        Path zoo = dir.resolve("zoo2");
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        PretrainJob.Outcome out = new PretrainJob(config(zoo, "epochs", "1", "checkpoint-every", "1",
                "retry-backoff-ms", "100"), new PrintStream(console, true, StandardCharsets.UTF_8),
                // Rank 0 writes the checkpoints and reaches step 2 only after committing the step-2 one, so the
                // resume point is deterministic (a fault on another rank may beat that write by one interval).
                new RunPlan.Fault(0, 2, 1)).run(spark);
        String log = console.toString(StandardCharsets.UTF_8);
        System.out.print(log);
        assertTrue(log.contains("attempt 1 of 3 failed") && log.contains("resuming from step 2"), log);
        assertEquals(3, out.steps());
        for (RankResult r : out.ranks()) {
            assertEquals(2, r.resumedFrom(), "rank " + r.rank() + " resumed from the checkpoint at step 2");
            assertEquals(3, r.steps());
        }
        try (ModelZoo z = ModelZoo.open(zoo.toString())) {
            // The model card's chart marks the resume: the first line after it says so, and every line has the world.
            java.util.List<String> lines = io.hicmae.driver.spark.RunCheckpoints.readMetrics(z,
                    z.checkpoints().latest(out.runId()).orElseThrow());
            assertEquals(3, lines.size());
            assertTrue(lines.get(2).contains("\"resumed\":1") && !lines.get(1).contains("resumed"), lines.toString());
            assertTrue(lines.stream().allMatch(l -> l.contains("\"world_size\":2")), lines.toString());
        }
    }

    @Test
    void aSecondJobOnALiveRunIsRefusedNamingTheHolderAndAReleasedLeaseIsTakenOverOnResume() throws Exception {
        Path zoo = dir.resolve("zoo4");
        PretrainJob.Outcome first = new PretrainJob(config(zoo, "epochs", "1", "run-id", "r-lease"), System.out)
                .run(spark);
        try (ModelZoo z = ModelZoo.open(zoo.toString())) {
            assertEquals(1, z.checkpoints().currentLease("r-lease").orElseThrow().epoch());
            List<Long> before = z.checkpoints().list("r-lease").stream().map(c -> c.step()).toList();
            try (RunLease other = z.checkpoints().acquireLease("r-lease", "the nightly job on host-9")) {
                RunLeaseException e = assertThrows(RunLeaseException.class, () -> new PretrainJob(
                        config(zoo, "epochs", "2", "resume", "r-lease"), System.out).run(spark));
                assertTrue(e.getMessage().contains("Run r-lease is held by the nightly job on host-9 since "
                        + other.holder().since()), e.getMessage());
                assertEquals(before, z.checkpoints().list("r-lease").stream().map(c -> c.step()).toList());
            }
            PretrainJob.Outcome resumed = new PretrainJob(config(zoo, "epochs", "2", "resume", "r-lease"), System.out)
                    .run(spark);
            assertEquals(3, resumed.ranks().get(0).resumedFrom());
            assertEquals(first.runId(), resumed.runId());
            RunLease.Holder now = z.checkpoints().currentLease("r-lease").orElseThrow();
            assertEquals(3, now.epoch(), "taken over with a higher epoch");
            assertTrue(now.holder().startsWith("pretrain driver on "), now.holder());
            var newest = z.checkpoints().latest("r-lease").orElseThrow();
            String marker = java.nio.file.Files.readString(Path.of(newest.location()).resolve("_COMMITTED"));
            assertTrue(marker.contains("\"epoch\":3"), "the rank's commit carries the lease epoch: " + marker);
        }
    }

    @Test
    void tooSmallADatasetIsRefusedNamingTheKey() {
        Path zoo = dir.resolve("zoo3");
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> new PretrainJob(config(zoo, "batch-size", "8"), System.out).run(spark));
        assertTrue(e.getMessage().startsWith("Invalid value 8 for configuration batch-size"), e.getMessage());
    }
}
