package io.hicmae.zoo;

import java.net.URI;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The zoo contract on S3 (MinIO through s3a:), committing by marker. Skipped, and reported as skipped, where no Docker
 * engine runs.
 */
@Testcontainers(disabledWithoutDocker = true)
class MinioZooTest extends ZooContract {
    private static final String BUCKET = "zoo";

    @Container
    static final MinIOContainer MINIO = new MinIOContainer("minio/minio:RELEASE.2025-04-22T22-12-26Z");

    @BeforeAll
    static void createBucket() {
        try (S3Client s3 = S3Client.builder()
                .endpointOverride(URI.create(MINIO.getS3URL()))
                .region(Region.US_EAST_1)
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(MINIO.getUserName(), MINIO.getPassword())))
                .build()) {
            s3.createBucket(b -> b.bucket(BUCKET));
        }
    }

    @Override
    URI newRoot() {
        return URI.create("s3a://" + BUCKET + "/zoo-" + UUID.randomUUID());
    }

    @Override
    Configuration conf() {
        Configuration conf = new Configuration();
        conf.set("fs.s3a.endpoint", MINIO.getS3URL());
        conf.set("fs.s3a.endpoint.region", "us-east-1");
        conf.set("fs.s3a.path.style.access", "true");
        conf.set("fs.s3a.connection.ssl.enabled", "false");
        conf.set("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
        conf.set("fs.s3a.access.key", MINIO.getUserName());
        conf.set("fs.s3a.secret.key", MINIO.getPassword());
        return conf;
    }
}
