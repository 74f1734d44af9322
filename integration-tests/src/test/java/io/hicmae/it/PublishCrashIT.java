package io.hicmae.it;

import io.hicmae.it.jobs.SlowPublishJob;
import io.hicmae.zoo.GcPlan;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.ZooConfig;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * kill -9 of a driver JVM in the middle of publishing to a zoo on HDFS: no version becomes visible, the next
 * {@code gc} finds and removes the leftovers, and the next publish succeeds.
 */
class PublishCrashIT extends ClusterAndHdfs {

    @Test
    void aDriverKilledMidPublishLeavesNoVersionAndGcCleansUp() throws IOException {
        URI root = hdfs.uri().resolve("/zoo");
        Application job = Application.testJobWithHicmae(cluster.paths(), SlowPublishJob.class);
        try (Submission publisher = new SparkSubmitter(cluster).start("slow-publish", job, Map.of(),
                List.of(root.toString(), "crash", "64"))) {
            publisher.awaitLine("3 MiB written", l -> l.equals("PUBLISH wrote 3 MiB"), Duration.ofMinutes(3));
            publisher.killDriver();
        }
        Configuration conf = new Configuration(hdfs.conf());
        conf.setLong(ZooConfig.STAGING_GRACE_MS, 0);
        try (ModelZoo zoo = ModelZoo.open(root, conf)) {
            assertEquals(List.of(), zoo.listVersions("crash"), "a killed publish must leave no visible version");
            GcPlan plan = zoo.gc(10, true);
            assertFalse(plan.items().isEmpty(), "gc should find the killed publish's leftovers: " + plan);
            zoo.gc(10, false);
            assertTrue(zoo.gc(10, true).items().isEmpty(), "gc left something behind");
        }
        Submission.Result again = new SparkSubmitter(cluster).run("publish-again", job, Map.of(),
                List.of(root.toString(), "crash", "2"), Duration.ofMinutes(3));
        assertEquals(0, again.exitCode(), again.describe());
        try (ModelZoo zoo = ModelZoo.open(root, hdfs.conf())) {
            assertEquals(1, zoo.listVersions("crash").size());
            zoo.verify(io.hicmae.zoo.ModelRef.parse("crash@latest"));
        }
    }
}
