package io.hicmae.zoo;

import java.io.IOException;
import java.net.URI;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;

/**
 * The zoo contract on S3 through {@code s3a:}, committing by marker, against a real S3 protocol server
 * ({@link S3TestServer}: MinIO where Docker runs, S3Mock where none does), so it runs everywhere.
 */
class S3ZooTest extends ZooContract {
    static final String BUCKET = "zoo";
    private static S3TestServer s3;

    @BeforeAll
    static void createBucket() throws IOException {
        s3 = S3TestServer.shared();
        s3.createBucket(BUCKET);
        System.out.println("S3ZooTest runs against " + s3.kind() + " at " + s3.endpoint());
    }

    @Override
    URI newRoot() {
        return URI.create("s3a://" + BUCKET + "/zoo-" + UUID.randomUUID());
    }

    @Override
    Configuration conf() {
        return s3.hadoopConf();
    }
}
