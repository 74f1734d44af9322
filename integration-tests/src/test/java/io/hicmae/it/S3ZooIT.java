package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.it.jobs.SlowPublishJob;
import io.hicmae.zoo.ModelRef;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.S3TestServer;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The zoo on S3 through {@code s3a:} from drivers submitted to the cluster: a short job publishes a version, then
 * {@code hicmae zoo list}, {@code verify} and {@code promote} run through spark-submit with the driver's
 * {@code target/lib} as {@code --jars} (which carries the S3A connector) and the endpoint and credentials in a
 * {@code core-site.xml} of HADOOP_CONF_DIR, as a deployment without the Docker image would set them up. The S3 is
 * {@link S3TestServer}: S3Mock where no Docker engine runs, MinIO where one does; it never skips.
 */
class S3ZooIT {
    private static final String BUCKET = "zoo";
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(3);

    private static S3TestServer s3;
    private static SparkCluster cluster;
    private static Path hadoopConf;

    @BeforeAll
    static void start() throws IOException {
        s3 = S3TestServer.shared();
        s3.createBucket(BUCKET);
        cluster = SparkCluster.builder("S3ZooIT").start();
        hadoopConf = S3TestServer.writeCoreSite(cluster.runDir().resolve("hadoop-conf"), s3.s3aSettings());
    }

    @AfterAll
    static void stop() {
        SparkCluster.closeAndCheck(cluster);
    }

    @Test
    void zooCommandsPublishListVerifyAndPromoteOnS3ThroughSparkSubmit() throws IOException {
        String root = "s3a://" + BUCKET + "/zoo";
        Application hicmae = Application.hicmae(cluster.paths());
        assertTrue(hicmae.jars().stream().anyMatch(p -> p.getFileName().toString().startsWith("hadoop-aws-")),
                "the driver's target/lib carries hadoop-aws: " + hicmae.jars());
        SparkSubmitter submitter = new SparkSubmitter(cluster).withHadoopConfDir(hadoopConf);

        long t0 = System.nanoTime();
        Submission.Result publish = submitter.run("publish",
                Application.testJobWithHicmae(cluster.paths(), SlowPublishJob.class),
                Map.of(), List.of(root, "s3demo", "2"), JOB_TIMEOUT);
        assertEquals(0, publish.exitCode(), publish.describe());
        assertTrue(publish.output().contains("PUBLISH done v1"), publish.describe());

        Submission.Result list = submitter.run("zoo-list", hicmae, Map.of(),
                List.of("zoo", "list", "--json", "--zoo", root), JOB_TIMEOUT);
        assertEquals(0, list.exitCode(), list.describe());
        assertTrue(list.output().contains("\"name\": \"s3demo\""), list.describe());
        assertTrue(list.output().contains("\"versions\": 1"), list.describe());

        Submission.Result verify = submitter.run("zoo-verify", hicmae, Map.of(),
                List.of("zoo", "verify", "--zoo", root, "s3demo@latest"), JOB_TIMEOUT);
        assertEquals(0, verify.exitCode(), verify.describe());
        assertTrue(verify.output().contains("every file matches SHA256SUMS"), verify.describe());

        Submission.Result promote = submitter.run("zoo-promote", hicmae, Map.of(),
                List.of("zoo", "promote", "--zoo", root, "s3demo:1", "production"), JOB_TIMEOUT);
        assertEquals(0, promote.exitCode(), promote.describe());

        try (ModelZoo zoo = ModelZoo.open(URI.create(root), s3.hadoopConf())) {
            assertEquals(1, zoo.verify(ModelRef.parse("s3demo@production")).number());
        }
        System.out.printf("S3ZooIT publish, list, verify and promote on %s: %d ms%n", s3.kind(),
                (System.nanoTime() - t0) / 1_000_000);
    }
}
