package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import io.hicmae.it.jobs.BarrierProbeJob;
import io.hicmae.zoo.ContentWriter;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.VersionMetadata;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The cluster runs a barrier stage across its two Workers, and HicmaeCli goes through spark-submit to HDFS. */
class ClusterSmokeIT extends ClusterAndHdfs {

    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(3);

    @Test
    void barrierTasksRunInExecutorsOfDifferentWorkers() throws IOException {
        Submission.Result r = new SparkSubmitter(cluster).run("probe",
                Application.testJob(cluster.paths(), BarrierProbeJob.class), Map.of(), List.of("2", "0"), JOB_TIMEOUT);

        assertEquals(0, r.exitCode(), r.describe());
        List<ProbeResult> tasks = ProbeResult.of(r);
        assertEquals(List.of(0, 1), tasks.stream().map(ProbeResult::partition).toList(), r.describe());
        assertNotEquals(tasks.get(0).pid(), tasks.get(1).pid(), "both tasks ran in one executor JVM: " + tasks);
        assertEquals(Set.copyOf(cluster.workerPids()), Set.of(tasks.get(0).workerPid(), tasks.get(1).workerPid()),
                "each executor's parent must be a different Worker: " + tasks);
        tasks.forEach(t -> assertEquals("{}", t.resources(), "no resources were asked for: " + t));
        System.out.printf("ClusterSmokeIT probe job: %d ms%n", r.wall().toMillis());
    }

    @Test
    void hicmaeCliReadsTheHdfsZooThroughSparkSubmit() throws IOException {
        URI root = hdfs.uri().resolve("/zoo");
        try (ModelZoo zoo = ModelZoo.open(root, hdfs.conf())) {
            zoo.publish(smokeVersion());
        }

        Submission.Result r = new SparkSubmitter(cluster).run("zoo-list", Application.hicmae(cluster.paths()),
                Map.of(), List.of("zoo", "list", "--json", "--zoo", root.toString()), JOB_TIMEOUT);

        assertEquals(0, r.exitCode(), r.describe());
        assertTrue(r.output().contains("\"name\": \"smoke\""), r.describe());
        assertTrue(r.output().contains("\"versions\": 1"), r.describe());
        System.out.printf("ClusterSmokeIT zoo list: %d ms%n", r.wall().toMillis());
    }

    private static PublishRequest smokeVersion() {
        JsonObject job = new JsonObject();
        job.addProperty("batch-size", 2);
        return PublishRequest.builder("smoke")
                .setWeights(ContentWriter.of("weights".getBytes(StandardCharsets.UTF_8)))
                .setConfig("{\"embed_dim\": 32}")
                .setMetadata(VersionMetadata.builder()
                        .setRunId("cluster-smoke")
                        .setDataset(URI.create("hdfs://nn/data/none"), "a".repeat(64))
                        .setJobConfig(job)
                        .setSteps(1)
                        .setFinalLosses(Map.of("loss", 1.0))
                        .setCodeVersion("cluster-smoke")
                        .build())
                .build();
    }
}
