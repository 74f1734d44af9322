package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.hicmae.it.jobs.BarrierProbeJob;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Spark's GPU scheduling path without a GPU: Workers advertise one through a discovery script. */
class FakeGpuIT {
    private static SparkCluster cluster;

    @BeforeAll
    static void start() throws IOException {
        cluster = SparkCluster.builder("FakeGpuIT").optFakeGpu().start();
    }

    @AfterAll
    static void stop() {
        if (cluster != null) {
            cluster.close();
            assertEquals(List.of(), SparkCluster.survivors(cluster.runDir()), "JVMs left behind");
        }
    }

    @Test
    void eachBarrierTaskIsGivenTheAdvertisedGpu() throws IOException {
        Map<String, String> gpuPerTask = Map.of(
                "spark.executor.resource.gpu.amount", "1",
                "spark.task.resource.gpu.amount", "1");

        Submission.Result r = new SparkSubmitter(cluster).run("gpu-probe",
                Application.testJob(cluster.paths(), BarrierProbeJob.class), gpuPerTask, List.of("2", "0"),
                Duration.ofMinutes(3));

        assertEquals(0, r.exitCode(), r.describe());
        List<ProbeResult> tasks = ProbeResult.of(r);
        assertEquals(2, tasks.size(), r.describe());
        tasks.forEach(t -> assertEquals("{gpu=[0]}", t.resources(), "task " + t));
        System.out.printf("FakeGpuIT probe job: %d ms%n", r.wall().toMillis());
    }
}
