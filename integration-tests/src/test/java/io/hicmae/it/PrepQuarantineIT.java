package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.it.jobs.HangingFileSystem;
import io.hicmae.prep.SyntheticVideoGenerator;
import io.hicmae.runtime.data.ClipSchema;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.junit.jupiter.api.Test;

/**
 * Prep on the cluster with broken and hanging inputs: an empty file, a text file named {@code .mp4}, a valid video
 * whose reads block on the executor (a {@link HangingFileSystem} under {@code hang:}), and a valid video whose decode
 * kills its executor JVM (the test-only hook {@code HICMAE_TEST_PREP_HALT_ON} halts the JVM, as a native crash would).
 * The job finishes within the per-video deadline plus its ordinary time and two executor replacements; the broken
 * ones, the hanging one (reason {@code timeout}) and the crashing one (reason {@code crashed}, after two tries died:
 * the prep journal) are in the quarantine table, and the good ones are prepared.
 */
class PrepQuarantineIT extends ClusterAndHdfs {
    /** The per-video deadline: short, so the hanging video costs little; a 3 s video decodes in well under it. */
    private static final int DEADLINE_S = 5;
    /** The whole job, hang included: about 30 s on 2 loaded cores; a prep that waited on the hang would not end. */
    private static final Duration JOB_BOUND = Duration.ofMinutes(5);
    private static final Pattern RELEASED = Pattern.compile(
            "HANG read of (\\S+) released after (\\d+) ms by (close|an interrupt)");

    @Test
    void brokenAndHangingVideosAreQuarantinedAndTheGoodOnesPrepared() throws IOException {
        Path videos = cluster.runDir().resolve("videos");
        new SyntheticVideoGenerator(3).generate(videos, 2, SyntheticVideoGenerator.Spec.talkingFace(3));
        List<String> good;
        try (Stream<Path> files = Files.list(videos)) {
            good = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".mp4")).sorted().toList();
        }
        assertEquals(2, good.size(), "generated: " + good);
        // A valid video: only the file system makes it hang.
        Files.copy(videos.resolve(good.get(0)), videos.resolve("hang.mp4"));
        Files.copy(videos.resolve(good.get(0)), videos.resolve("crash.mp4")); // only the hook makes it crash
        Files.write(videos.resolve("empty.mp4"), new byte[0]);
        Files.writeString(videos.resolve("notes.mp4"), "not a video", StandardCharsets.UTF_8);
        URI output = hdfs.uri().resolve("/data/clips");

        Submission.Result r = new SparkSubmitter(cluster).run("prep",
                Application.hicmae(cluster.paths()).plusJars(cluster.paths().jobsJar()),
                Map.of("spark.hadoop.fs.hang.impl", HangingFileSystem.class.getName(),
                        "spark.executorEnv.HICMAE_TEST_PREP_HALT_ON", "crash.mp4"),
                List.of("prep", "--input", "hang://" + videos, "--output", output.toString(),
                        "--decode-timeout-s", Integer.toString(DEADLINE_S)),
                JOB_BOUND);

        assertEquals(0, r.exitCode(), r.describe()); // run(...) fails the test if the job outlives JOB_BOUND
        assertTrue(r.output().contains("videos_seen=6 = videos_with_clips=2 + videos_quarantined=4"), r.describe());

        Map<String, List<String>> quarantine = readQuarantine(output);
        assertEquals(Set.of("empty.mp4", "notes.mp4", "hang.mp4", "crash.mp4"), quarantine.keySet(),
                "quarantine " + quarantine);
        assertEquals("crashed", quarantine.get("crash.mp4").get(0), "quarantine " + quarantine);
        assertTrue(quarantine.get("crash.mp4").get(1).contains("was started 2 times and never finished"),
                "quarantine " + quarantine);
        assertEquals("unreadable", quarantine.get("empty.mp4").get(0), "quarantine " + quarantine);
        assertEquals("unreadable", quarantine.get("notes.mp4").get(0), "quarantine " + quarantine);
        assertEquals("timeout", quarantine.get("hang.mp4").get(0), "quarantine " + quarantine);
        assertTrue(quarantine.get("hang.mp4").get(1).contains("deadline of PT" + DEADLINE_S + "S"),
                "quarantine " + quarantine);
        assertEquals(new TreeSet<>(good), clipSources(output), "sources with clips");

        // The hang happened on an executor, and the copy was abandoned at the deadline, not later.
        String executorLogs = Logs.readAll(cluster.executorLogs());
        Matcher released = RELEASED.matcher(executorLogs);
        assertTrue(executorLogs.contains("HANG read of ") && released.find(),
                "no blocked read in the executor logs " + cluster.executorLogs());
        assertTrue(released.group(1).endsWith("/hang.mp4"), released.group());
        long heldMs = Long.parseLong(released.group(2));
        assertTrue(heldMs >= DEADLINE_S * 500L && heldMs < DEADLINE_S * 1000L + 30_000,
                "the blocked read was released after " + heldMs + " ms; the deadline is " + DEADLINE_S + " s");
        System.out.printf("PrepQuarantineIT prep: %d ms; the hanging read was abandoned after %d ms%n",
                r.wall().toMillis(), heldMs);
    }

    /** Source to [reason, detail], from every batch of the quarantine table. */
    private static Map<String, List<String>> readQuarantine(URI output) throws IOException {
        Map<String, List<String>> rows = new TreeMap<>();
        for (Group g : readParquet(output.resolve("/data/clips/" + ClipSchema.QUARANTINE_DIR + "/batch=*/*.parquet"))) {
            rows.put(g.getString(ClipSchema.Q_SOURCE, 0),
                    List.of(g.getString(ClipSchema.Q_REASON, 0), g.getString(ClipSchema.Q_DETAIL, 0)));
        }
        return rows;
    }

    private static Set<String> clipSources(URI output) throws IOException {
        return readParquet(output.resolve("/data/clips/batch=*/*.parquet")).stream()
                .map(g -> g.getString(ClipSchema.SOURCE, 0))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    private static List<Group> readParquet(URI glob) throws IOException {
        Configuration conf = hdfs.conf();
        org.apache.hadoop.fs.Path pattern = new org.apache.hadoop.fs.Path(glob);
        FileSystem fs = pattern.getFileSystem(conf);
        FileStatus[] files = fs.globStatus(pattern);
        assertTrue(files != null && files.length > 0, "no Parquet file matches " + glob);
        List<Group> rows = new java.util.ArrayList<>();
        for (FileStatus f : files) {
            try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(), f.getPath())
                    .withConf(conf).build()) {
                for (Group g; (g = reader.read()) != null; ) {
                    rows.add(g);
                }
            }
        }
        return rows;
    }
}
