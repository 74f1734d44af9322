package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.it.jobs.BarrierProbeJob;
import io.hicmae.prep.SyntheticVideoGenerator;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Spark's GPU scheduling path without a GPU: Workers advertise one through a discovery script. */
class FakeGpuIT {
    /** One GPU per executor and per task, as a GPU cluster's pre-training submission asks. */
    private static final Map<String, String> GPU_PER_TASK = Map.of(
            "spark.executor.resource.gpu.amount", "1",
            "spark.task.resource.gpu.amount", "1");
    private static final String NO_CUDA =
            "Spark assigned GPU 0 to this task but the engine sees no CUDA device; running on CPU";

    private static SparkCluster cluster;

    @BeforeAll
    static void start() throws IOException {
        cluster = SparkCluster.builder("FakeGpuIT").optFakeGpu().start();
    }

    @AfterAll
    static void stop() {
        SparkCluster.closeAndCheck(cluster);
    }

    @Test
    void eachBarrierTaskIsGivenTheAdvertisedGpu() throws IOException {
        Submission.Result r = new SparkSubmitter(cluster).run("gpu-probe",
                Application.testJob(cluster.paths(), BarrierProbeJob.class), GPU_PER_TASK, List.of("2", "0"),
                Duration.ofMinutes(3));

        assertEquals(0, r.exitCode(), r.describe());
        List<ProbeResult> tasks = ProbeResult.of(r);
        assertEquals(2, tasks.size(), r.describe());
        tasks.forEach(t -> assertEquals("{gpu=[0]}", t.resources(), "task " + t));
        System.out.printf("FakeGpuIT probe job: %d ms%n", r.wall().toMillis());
    }

    /**
     * Two pre-training ranks each get the Worker's GPU from Spark, report it, and train on the CPU because the engine
     * sees no CUDA device (RankSetup.device, in the executors).
     */
    @Test
    void pretrainRanksReportTheirGpuAndTrainOnCpuWithoutCuda() throws IOException {
        Path videos = cluster.runDir().resolve("videos");
        // One 5 s video in windows 16 frames apart: the 4 clips that 2 ranks x batch 2 need, for little decoding.
        new SyntheticVideoGenerator(5).generate(videos, 1, SyntheticVideoGenerator.Spec.talkingFace(5));
        Path clips = cluster.runDir().resolve("clips");
        Application hicmae = Application.hicmae(cluster.paths());
        SparkSubmitter submitter = new SparkSubmitter(cluster);
        Submission.Result prep = submitter.run("prep", hicmae, Map.of(),
                List.of("prep", "--input", videos.toString(), "--output", clips.toString(), "--window-stride", "16"),
                Duration.ofMinutes(4));
        assertEquals(0, prep.exitCode(), prep.describe());
        assertTrue(prep.output().contains("videos_with_clips=1 + videos_quarantined=0, clips=4"), prep.describe());

        Submission.Result train = submitter.run("pretrain", hicmae, GPU_PER_TASK,
                List.of("pretrain", "--data", clips.toString(), "--zoo", cluster.runDir().resolve("zoo").toString(),
                        "--model", "gpu", "--preset", "tiny", "--world-size", "2", "--batch-size", "2",
                        "--epochs", "2", "--run-id", "fake-gpu"),
                Duration.ofMinutes(5));

        assertEquals(0, train.exitCode(), train.describe());
        for (int rank = 0; rank < 2; rank++) {
            assertTrue(train.output().contains("pretrain: rank " + rank
                    + " trained on cpu() (Spark assigned GPU 0), steps 0 to 2"), train.describe());
        }
        assertTrue(train.output().contains("pretrain: published gpu:v000001"), train.describe());
        String executorLogs = Logs.readAll(cluster.executorLogs());
        assertEquals(2, executorLogs.split(NO_CUDA, -1).length - 1,
                "each rank's executor logs the fallback once" + cluster.executorLogTails());
        System.out.printf("FakeGpuIT prep: %d ms, pretrain: %d ms%n", prep.wall().toMillis(), train.wall().toMillis());
    }
}
