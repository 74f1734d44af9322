package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.it.jobs.SlowPublishJob;
import io.hicmae.zoo.ModelRef;
import io.hicmae.zoo.ModelZoo;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The zoo on S3 (MinIO through {@code s3a:}) from drivers submitted to the cluster: a short job publishes a version,
 * then {@code hicmae zoo list}, {@code verify} and {@code promote} run through spark-submit with the S3A connector as
 * {@code --jars} and the endpoint and credentials in a {@code core-site.xml} of HADOOP_CONF_DIR, as a deployment
 * without the Docker image would set them up.
 *
 * <p>Skipped, and reported as skipped with the reason, where no Docker engine runs: the Testcontainers extension
 * decides before anything starts, so neither the container nor the cluster is started then.
 */
@Testcontainers(disabledWithoutDocker = true)
class S3ZooIT {
    private static final String BUCKET = "zoo";
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(3);

    @Container
    static final MinIOContainer MINIO = new MinIOContainer("minio/minio:RELEASE.2025-04-22T22-12-26Z");

    private static SparkCluster cluster;
    private static Path hadoopConf;

    @BeforeAll
    static void start() throws IOException {
        try (S3Client s3 = S3Client.builder()
                .endpointOverride(URI.create(MINIO.getS3URL()))
                .region(Region.US_EAST_1)
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(MINIO.getUserName(), MINIO.getPassword())))
                .build()) {
            s3.createBucket(b -> b.bucket(BUCKET));
        }
        cluster = SparkCluster.builder("S3ZooIT").start();
        hadoopConf = Files.createDirectories(cluster.runDir().resolve("hadoop-conf"));
        StringBuilder xml = new StringBuilder("<?xml version=\"1.0\"?>\n<configuration>\n");
        s3aSettings().forEach((k, v) -> xml.append("  <property><name>").append(k).append("</name><value>")
                .append(v).append("</value></property>\n"));
        Files.writeString(hadoopConf.resolve("core-site.xml"), xml.append("</configuration>\n").toString());
    }

    @AfterAll
    static void stop() {
        SparkCluster.closeAndCheck(cluster);
    }

    @Test
    void zooCommandsPublishListVerifyAndPromoteOnS3ThroughSparkSubmit() throws IOException {
        String root = "s3a://" + BUCKET + "/zoo";
        List<Path> s3a = s3aJars();
        SparkSubmitter submitter = new SparkSubmitter(cluster).withHadoopConfDir(hadoopConf);

        long t0 = System.nanoTime();
        Submission.Result publish = submitter.run("publish",
                Application.testJobWithHicmae(cluster.paths(), SlowPublishJob.class).plusJars(s3a.toArray(Path[]::new)),
                Map.of(), List.of(root, "s3demo", "2"), JOB_TIMEOUT);
        assertEquals(0, publish.exitCode(), publish.describe());
        assertTrue(publish.output().contains("PUBLISH done v1"), publish.describe());

        Application hicmae = Application.hicmae(cluster.paths()).plusJars(s3a.toArray(Path[]::new));
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

        Configuration conf = new Configuration();
        s3aSettings().forEach(conf::set);
        try (ModelZoo zoo = ModelZoo.open(URI.create(root), conf)) {
            assertEquals(1, zoo.verify(ModelRef.parse("s3demo@production")).number());
        }
        System.out.printf("S3ZooIT publish, list, verify and promote: %d ms%n", (System.nanoTime() - t0) / 1_000_000);
    }

    /** The S3A settings for the MinIO container, as core-site.xml and the test's own client carry them. */
    private static Map<String, String> s3aSettings() {
        return Map.of(
                "fs.s3a.endpoint", MINIO.getS3URL(),
                "fs.s3a.endpoint.region", "us-east-1",
                "fs.s3a.path.style.access", "true",
                "fs.s3a.connection.ssl.enabled", "false",
                "fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider",
                "fs.s3a.access.key", MINIO.getUserName(),
                "fs.s3a.secret.key", MINIO.getPassword());
    }

    /** The S3A connector's jars (hicmae.it.s3aJars, filled by the build) that the Spark home lacks. */
    private static List<Path> s3aJars() throws IOException {
        Path dir = Path.of(System.getProperty("hicmae.it.s3aJars", ""));
        Set<String> spark;
        try (Stream<Path> jars = Files.list(cluster.paths().sparkHome().resolve("jars"))) {
            spark = jars.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
        List<Path> out = new ArrayList<>();
        try (Stream<Path> jars = Files.list(dir)) {
            jars.filter(p -> !spark.contains(p.getFileName().toString())).sorted().forEach(out::add);
        }
        assertTrue(out.stream().anyMatch(p -> p.getFileName().toString().startsWith("hadoop-aws-")),
                "no hadoop-aws in " + dir);
        return out;
    }
}
