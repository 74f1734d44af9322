package io.hicmae.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;

/**
 * The refusal path of the zoo's exclusive creates on S3: a claim or commit marker that appears between the zoo's
 * existence check and its PUT is refused by the server ({@code If-None-Match: *} answered with 412), the create
 * reports that it lost, and the first writer's bytes stay. {@link RaceS3AFileSystem} hides the object from the
 * check, so the second create always reaches the server.
 */
class S3ConditionalCreateTest {

    @Test
    void aSecondConditionalPutOfAClaimOrMarkerIsRefusedAndTheFirstStays() throws IOException {
        S3TestServer s3 = S3TestServer.shared();
        s3.createBucket(S3ZooTest.BUCKET);
        Configuration conf = s3.hadoopConf();
        conf.set("fs.s3a.impl", RaceS3AFileSystem.class.getName());
        URI root = URI.create("s3a://" + S3ZooTest.BUCKET + "/race-" + UUID.randomUUID());
        Store store = Store.open(root, conf, Clock.systemUTC(), FaultHook.NONE);
        for (Path p : new Path[] {new Path(root + "/m/" + Store.CLAIMS + "/v000001"),
                new Path(root + "/m/v000001/" + Store.MARKER)}) {
            byte[] first = "first".getBytes(StandardCharsets.UTF_8);
            assertTrue(store.createExclusive(p, first), "the first create of " + p + " wins");
            assertFalse(store.createExclusive(p, "second".getBytes(StandardCharsets.UTF_8)),
                    s3.kind() + " refuses the second conditional PUT of " + p);
            try (FileSystem fs = FileSystem.newInstance(root, s3.hadoopConf()); InputStream in = fs.open(p)) {
                assertArrayEquals(first, in.readAllBytes(), "the first writer's bytes stay at " + p);
            }
        }
    }

    @Test
    void theServerAnswersASecondIfNoneMatchPutWith412() throws IOException {
        S3TestServer s3 = S3TestServer.shared();
        s3.createBucket(S3ZooTest.BUCKET);
        String key = "raw-" + UUID.randomUUID();
        try (S3Client client = s3.client()) {
            client.putObject(b -> b.bucket(S3ZooTest.BUCKET).key(key).ifNoneMatch("*"), RequestBody.fromString("a"));
            S3Exception e = assertThrows(S3Exception.class, () -> client.putObject(
                    b -> b.bucket(S3ZooTest.BUCKET).key(key).ifNoneMatch("*"), RequestBody.fromString("b")));
            assertEquals(412, e.statusCode(), e.getMessage());
            assertEquals("a", client.getObjectAsBytes(b -> b.bucket(S3ZooTest.BUCKET).key(key)).asUtf8String());
        }
    }
}
