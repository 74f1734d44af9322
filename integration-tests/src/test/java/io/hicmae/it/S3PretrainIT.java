package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.S3TestServer;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The CLI on S3 as a user runs it: {@code bin/hicmae} with the endpoint only in HADOOP_CONF_DIR's core-site.xml and
 * the credentials only in the environment (the AWS chain). Videos are prepared into {@code s3a://}, a 2-rank
 * pre-training writes its checkpoints and its version there, a second run of the same run id resumes from the S3
 * checkpoint, and {@code zoo list}, {@code pull} and {@code verify} read the result back. The S3 is
 * {@link S3TestServer}: S3Mock where no Docker engine runs, MinIO where one does.
 */
class S3PretrainIT {
    private static final String BUCKET = "hicmae";
    private static final Duration STEP = Duration.ofMinutes(4);
    private static S3TestServer s3;
    private static Launcher hicmae;
    private static Path dir;

    @BeforeAll
    static void start() throws IOException {
        dir = Path.of(System.getProperty("hicmae.it.runRoot"), "S3PretrainIT").toAbsolutePath();
        deleteTree(dir);
        s3 = S3TestServer.shared();
        s3.createBucket(BUCKET);
        Path conf = S3TestServer.writeCoreSite(dir.resolve("hadoop-conf"), s3.s3aEndpointSettings());
        hicmae = new Launcher(dir, Map.of(
                "HADOOP_CONF_DIR", conf.toString(),
                "AWS_ACCESS_KEY_ID", s3.accessKey(),
                "AWS_SECRET_ACCESS_KEY", s3.secretKey(),
                "HICMAE_JAVA_OPTS", "-Xmx1g",
                "OMP_NUM_THREADS", "1"));
    }

    @Test
    void prepPretrainResumeAndZooCommandsOnS3ConfiguredOnlyByHadoopConfDirAndEnvironment() throws IOException {
        long t0 = System.nanoTime();
        String clips = "s3a://" + BUCKET + "/clips";
        String zoo = "s3a://" + BUCKET + "/zoo";
        ok(hicmae.run("synth", STEP, "synth", "--out", dir.resolve("videos").toString(), "--videos", "2",
                "--seconds", "6", "--seed", "3"));
        ok(hicmae.run("prep", STEP, "prep", "--input", dir.resolve("videos").toString(), "--output", clips));

        String[] pretrain = {"pretrain", "--data", clips, "--zoo", zoo, "--preset", "tiny", "--world-size", "2",
            "--batch-size", "2", "--epochs", "3", "--checkpoint-every", "1", "--run-id", "s3-run",
            "--io-timeout-s", "120"};
        Submission.Result first = ok(hicmae.run("pretrain-1", STEP, concat(pretrain, "--max-steps", "2")));
        assertTrue(first.output().contains("pretrain: published hicmae:v000001"), first.describe());
        Submission.Result resumed = ok(hicmae.run("pretrain-2", STEP, concat(pretrain, "--max-steps", "3")));
        assertTrue(resumed.output().contains("pretrain: resuming run s3-run from step 2"), resumed.describe());
        assertTrue(resumed.output().contains("pretrain: rank 1 trained on cpu(), steps 2 to 3"), resumed.describe());
        assertTrue(resumed.output().contains("pretrain: published hicmae:v000002"), resumed.describe());

        Submission.Result list = ok(hicmae.run("zoo-list", STEP, "zoo", "list", "--json", "--zoo", zoo));
        assertTrue(list.output().contains("\"name\": \"hicmae\"") && list.output().contains("\"versions\": 2"),
                list.describe());
        Path pulled = dir.resolve("pulled");
        Submission.Result pull = ok(hicmae.run("zoo-pull", STEP, "zoo", "pull", "--zoo", zoo, "hicmae@latest",
                pulled.toString(), "--cache-dir", dir.resolve("cache").toString()));
        assertTrue(pull.output().contains("Pulled hicmae:v000002"), pull.describe());
        assertTrue(Files.size(pulled.resolve("model.safetensors")) > 0, "pulled weights");
        Submission.Result verify = ok(hicmae.run("zoo-verify", STEP, "zoo", "verify", "--zoo", zoo, "hicmae:1"));
        assertTrue(verify.output().contains("OK hicmae:v000001: every file matches SHA256SUMS"), verify.describe());

        // What the ranks and prep wrote is on S3, read here with the test's own client.
        try (ModelZoo z = ModelZoo.open(URI.create(zoo), s3.hadoopConf());
                FileSystem fs = FileSystem.newInstance(URI.create(clips), s3.hadoopConf())) {
            assertEquals(3, z.checkpoints().latest("s3-run").orElseThrow().step(), "the newest checkpoint on S3");
            assertTrue(fs.exists(new org.apache.hadoop.fs.Path(clips + "/_dataset.json")), "prep's descriptor on S3");
        }
        System.out.printf("S3PretrainIT on %s: %d ms%n", s3.kind(), (System.nanoTime() - t0) / 1_000_000);
    }

    private static Submission.Result ok(Submission.Result r) {
        assertEquals(0, r.exitCode(), r.describe());
        return r;
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static void deleteTree(Path p) throws IOException {
        if (Files.exists(p)) {
            try (var paths = Files.walk(p)) {
                for (Path f : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(f);
                }
            }
        }
    }
}
