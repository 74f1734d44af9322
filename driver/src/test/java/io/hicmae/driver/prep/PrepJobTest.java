package io.hicmae.driver.prep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.prep.ClipRecord;
import io.hicmae.prep.ClipSampler;
import io.hicmae.prep.SyntheticVideoGenerator.Labels;
import io.hicmae.runtime.data.ClipGeometry;
import io.hicmae.runtime.data.ClipLabels;
import io.hicmae.runtime.data.ClipSchema;
import io.hicmae.runtime.data.ClipShardReader;
import io.hicmae.runtime.data.LabelSpace;
import io.hicmae.runtime.data.StoredClip;
import io.hicmae.prep.SyntheticVideoGenerator;
import io.hicmae.prep.SyntheticVideoGenerator.Spec;
import io.hicmae.prep.VideoClipDecoder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PrepJobTest {

    @TempDir static Path dir;
    static Path input;
    static SparkSession spark;
    static final Configuration conf = new Configuration();

    /** Source to expected quarantine reason for the broken inputs. */
    static final Map<String, String> BROKEN = Map.of(
            "broken/empty.mp4", "unreadable",
            "broken/text.mp4", "unreadable",
            "broken/truncated.mp4", "unreadable",
            "broken/audio-only.mp4", "no_video",
            "broken/video-only.mp4", "no_audio",
            "broken/short.mp4", "too_short",
            "link-outside.mp4", "not_a_file");

    @BeforeAll
    static void setUp() throws IOException {
        input = dir.resolve("in");
        SyntheticVideoGenerator gen = new SyntheticVideoGenerator(21);
        gen.write(Files.createDirectories(input.resolve("spk1")).resolve("a.mp4"), 0, Spec.talkingFace(3));
        gen.write(input.resolve("spk1/b c.mp4"), 1, Spec.talkingFace(6));
        gen.write(Files.createDirectories(input.resolve("ünï")).resolve("-d.mp4"), 2, Spec.talkingFace(3));
        Files.createSymbolicLink(input.resolve("link-inside.mp4"), input.resolve("spk1/a.mp4"));
        Path outside = Files.createDirectories(dir.resolve("elsewhere")).resolve("x.mp4");
        Files.copy(input.resolve("spk1/a.mp4"), outside);
        Files.createSymbolicLink(input.resolve("link-outside.mp4"), outside);
        Path broken = Files.createDirectories(input.resolve("broken"));
        Files.createFile(broken.resolve("empty.mp4"));
        Files.writeString(broken.resolve("text.mp4"), "not a video\n".repeat(50));
        byte[] good = Files.readAllBytes(input.resolve("spk1/b c.mp4"));
        Files.write(broken.resolve("truncated.mp4"), Arrays.copyOf(good, good.length / 2));
        gen.write(broken.resolve("audio-only.mp4"), 3, Spec.talkingFace(3).withStreams(false, true));
        gen.write(broken.resolve("video-only.mp4"), 4, Spec.talkingFace(3).withStreams(true, false));
        gen.write(broken.resolve("short.mp4"), 5, Spec.talkingFace(1));
        Files.writeString(input.resolve("notes.txt"), "not an input: no video extension\n");

        spark = SparkSession.builder()
                .master("local[2]")
                .appName("PrepJobTest")
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.sql.shuffle.partitions", "2")
                .getOrCreate();
    }

    @AfterAll
    static void tearDown() {
        spark.stop();
    }

    private static PrepConfig config(Path in, Path out) {
        return new PrepConfig(in.toString(), out.toString(), "local[2]", 64, Duration.ofSeconds(60), 1, 64, 4,
                PrepConfig.parseExtensions(PrepConfig.EXTENSIONS_DEFAULT), Duration.ofSeconds(1));
    }

    private static PrepJob.Summary run(Path in, Path out) throws IOException {
        return new PrepJob(spark, config(in, out), Clock.systemUTC()).run();
    }

    private static JsonObject datasetJson(Path out) throws IOException {
        return JsonParser.parseString(Files.readString(out.resolve("_dataset.json"))).getAsJsonObject();
    }

    /** Every clip row, sorted by id, as (id, source, window, frames, pcm). */
    private static List<Row> clipRows(Path out) {
        return spark.read().parquet(out.toString())
                .select("clip_id", "source", "window", "frames", "pcm")
                .orderBy("clip_id").collectAsList();
    }

    private static Map<String, String> quarantine(Path out) {
        return spark.read().parquet(out.resolve("_quarantine").toString()).collectAsList().stream()
                .collect(Collectors.toMap(r -> r.getString(0), r -> r.getString(1), (a, b) -> a, TreeMap::new));
    }

    @Test
    void everyInputEndsWithClipsOrInTheQuarantineWithItsReason() throws Exception {
        Path out = dir.resolve("out-all");
        PrepJob.Summary s = run(input, out);
        assertEquals(11, s.videosSeen());
        assertEquals(4, s.videosWithClips());
        assertEquals(7, s.videosQuarantined());
        assertEquals(5, s.clips()); // a: 1, b c: 2, -d: 1, link-inside: 1
        assertEquals(new TreeMap<>(BROKEN), quarantine(out));

        List<Row> rows = spark.read().parquet(out.toString()).collectAsList();
        assertEquals(5, rows.size());
        assertEquals(
                List.of("link-inside.mp4", "spk1/a.mp4", "spk1/b c.mp4", "spk1/b c.mp4", "ünï/-d.mp4"),
                rows.stream().map(r -> r.<String>getAs("source")).sorted().toList());
        for (Row r : rows) {
            assertEquals(ClipRecord.clipId(r.getAs("source"), r.<Integer>getAs("window")), r.getAs("clip_id"));
            assertEquals(16, r.<Integer>getAs("frames_t"));
            assertEquals(160, r.<Integer>getAs("height"));
            assertEquals(160, r.<Integer>getAs("width"));
            assertEquals(3, r.<Integer>getAs("channels"));
            assertEquals(16_000, r.<Integer>getAs("sample_rate"));
            assertEquals(40_960, r.<Integer>getAs("pcm_samples"));
            assertEquals(ClipSchema.FRAME_BYTES, r.<byte[]>getAs("frames").length);
            assertEquals(ClipSchema.PCM_BYTES, r.<byte[]>getAs("pcm").length);
        }

        JsonObject json = datasetJson(out);
        JsonObject counts = json.getAsJsonObject("counts");
        assertEquals(11, counts.get("videos_seen").getAsLong());
        assertEquals(counts.get("videos_seen").getAsLong(),
                counts.get("videos_with_clips").getAsLong() + counts.get("videos_quarantined").getAsLong());
        assertEquals(5, counts.get("clips").getAsLong());
        assertEquals(ClipSchema.VERSION, json.get("schema_version").getAsInt());
        assertEquals(64, json.getAsJsonObject("sampling").get("window_stride").getAsInt());
        assertTrue(json.get("bytes_per_clip").getAsLong() > 0);
        assertEquals("1", json.getAsJsonObject("config").get("videos-per-task").getAsString());
        try (Stream<Path> files = Files.walk(out)) {
            assertTrue(files.anyMatch(p -> p.getFileName().toString().endsWith(".zstd.parquet")), "zstd parquet files");
        }
        assertFalse(Files.exists(out.resolve("_staging")));

        // Unlabelled: the label columns are null, and there is no label space.
        assertFalse(json.has(ClipSchema.DATASET_LABELS));
        assertEquals(Optional.empty(), LabelSpace.read(out.toUri().toString(), conf));
        assertEquals(5, readClips(out).size());
        assertTrue(readClips(out).stream().allMatch(c -> c.labels() == null));
    }

    /** Every clip of a dataset through the worker-runtime reader. */
    private static List<StoredClip> readClips(Path out) throws IOException {
        List<StoredClip> clips = new ArrayList<>();
        for (String file : ClipShardReader.dataFiles(out.toUri().toString(), conf)) {
            try (ClipShardReader r = ClipShardReader.open(file, conf, ClipGeometry.STORED)) {
                r.readAll((row, clip) -> clips.add(clip));
            }
        }
        return clips;
    }

    private static PrepJob.Summary runManifest(Path manifest, Path out) throws IOException {
        PrepConfig c = new PrepConfig(null, out.toString(), "local[2]", 64, Duration.ofSeconds(60), 1, 64, 4,
                PrepConfig.parseExtensions(PrepConfig.EXTENSIONS_DEFAULT), Duration.ofSeconds(1), manifest.toString());
        return new PrepJob(spark, c, Clock.systemUTC()).run();
    }

    /** Every file under a directory with its size, to show that a refused run wrote nothing. */
    private static Map<String, Long> snapshot(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            return files.filter(Files::isRegularFile).collect(Collectors.toMap(Path::toString, p -> p.toFile().length(),
                    (a, b) -> a, TreeMap::new));
        }
    }

    @Test
    void aSynthManifestPreparesOnlyItsVideosWithTheirLabels() throws Exception {
        Path in = dir.resolve("in-synth");
        List<Labels> labels = new SyntheticVideoGenerator(8).generate(in, 3, Spec.talkingFace(3));
        Files.copy(input.resolve("spk1/a.mp4"), in.resolve("unlisted.mp4"));
        Path out = dir.resolve("out-synth");
        PrepJob.Summary s = runManifest(in.resolve(SyntheticVideoGenerator.LABELS_FILE), out);
        assertEquals(3, s.videosSeen());
        assertEquals(3, s.clips());

        List<String> classes = labels.stream().map(l -> SyntheticVideoGenerator.PITCH_CLASSES.get(l.pitchClass()))
                .distinct().sorted().toList();
        LabelSpace space = LabelSpace.read(out.toUri().toString(), conf).orElseThrow();
        assertEquals(new LabelSpace(LabelSpace.Kind.CATEGORICAL, classes), space);
        List<StoredClip> clips = readClips(out);
        assertEquals(3, clips.size());
        for (StoredClip c : clips) {
            int i = Integer.parseInt(c.source().replaceAll("synth-8-0*(\\d+)\\.mp4", "$1"));
            Labels l = labels.get(i);
            assertEquals(ClipLabels.categorical(classes.indexOf(SyntheticVideoGenerator.PITCH_CLASSES.get(
                    l.pitchClass())), i == 0 ? "val" : "train", i), c.labels(), c.source());
            space.check(c.labels(), c.source());
        }
        JsonObject counts = datasetJson(out).getAsJsonObject("counts");
        assertEquals(JsonParser.parseString("{\"train\": 2, \"val\": 1}"), counts.get("clips_by_split"));
        assertEquals(JsonParser.parseString("{\"0\": 1, \"1\": 1, \"2\": 1}"), counts.get("clips_by_fold"));
        assertEquals(3, counts.getAsJsonObject("clips_by_class").entrySet().stream()
                .mapToLong(e -> e.getValue().getAsLong()).sum());

        // Another label space, no labels at all, or a changed label: refused before anything is written.
        Map<String, Long> before = snapshot(out);
        Path other = Files.writeString(dir.resolve("other.csv"), "path,arousal\nin-synth/synth-8-00000.mp4,0.5\n");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> runManifest(other, out));
        assertTrue(e.getMessage().startsWith("Invalid value " + other + " for configuration manifest: its labels"
                + " (dimensional [arousal]) differ from those of the dataset at "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> run(in, out));
        assertTrue(e.getMessage().startsWith("Invalid value " + in + " for configuration input: the dataset at "),
                e.getMessage());
        List<String> lines = Files.readAllLines(in.resolve(SyntheticVideoGenerator.LABELS_FILE));
        String changed = lines.get(1).replace(",val,0", ",train,0");
        Path relabelled = Files.writeString(in.resolve("relabelled.csv"),
                String.join("\n", lines.get(0), changed, lines.get(2), lines.get(3)) + "\n");
        e = assertThrows(IllegalArgumentException.class, () -> runManifest(relabelled, out));
        assertTrue(e.getMessage().contains("video synth-8-00000.mp4 is already in the dataset at "), e.getMessage());
        assertEquals(before, snapshot(out));

        // The same manifest again adds nothing.
        assertEquals(0, runManifest(in.resolve(SyntheticVideoGenerator.LABELS_FILE), out).newVideos());
    }

    @Test
    void aDimensionalManifestWithAQuotedPathAndAMissingFile() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in-dims"));
        Files.copy(input.resolve("spk1/a.mp4"), in.resolve("x, y.mp4"));
        Path manifest = Files.writeString(in.resolve("dims.csv"),
                "path,arousal,valence,fold\n\"x, y.mp4\",0.25,-0.5,2\nmissing.mp4,1,1,0\n");
        Path out = dir.resolve("out-dims");
        PrepJob.Summary s = runManifest(manifest, out);
        assertEquals(2, s.videosSeen());
        assertEquals(1, s.videosQuarantined());
        assertEquals(Map.of("missing.mp4", "unreadable"), quarantine(out));
        List<StoredClip> clips = readClips(out);
        assertEquals(1, clips.size());
        assertEquals("x, y.mp4", clips.get(0).source());
        assertEquals(ClipLabels.dimensional(new float[] {0.25f, -0.5f}, null, 2), clips.get(0).labels());
        assertEquals(new LabelSpace(LabelSpace.Kind.DIMENSIONAL, List.of("arousal", "valence")),
                LabelSpace.read(out.toUri().toString(), conf).orElseThrow());
    }

    @Test
    void aClipRowHoldsExactlyWhatTheDecoderGives() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in-one"));
        Files.copy(input.resolve("spk1/b c.mp4"), in.resolve("v.mp4"));
        Path out = dir.resolve("out-one");
        run(in, out);
        List<ClipRecord> direct = new ArrayList<>();
        new VideoClipDecoder(ClipSampler.NON_OVERLAPPING, Duration.ofSeconds(60), Clock.systemUTC())
                .decode(in.resolve("v.mp4"), "v.mp4", direct::add);
        List<Row> rows = spark.read().parquet(out.toString()).orderBy("window").collectAsList();
        assertEquals(direct.size(), rows.size());
        for (int i = 0; i < rows.size(); i++) {
            assertArrayEquals(direct.get(i).frames(), rows.get(i).<byte[]>getAs("frames"), "frames of window " + i);
            assertArrayEquals(direct.get(i).pcm(), rows.get(i).<byte[]>getAs("pcm"), "pcm of window " + i);
            assertEquals(direct.get(i).startS(), rows.get(i).<Double>getAs("start_s"));
        }
    }

    @Test
    void aSecondRunAddsOnlyWhatIsNew() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in-grow"));
        Files.copy(input.resolve("spk1/a.mp4"), in.resolve("a.mp4"));
        Files.copy(input.resolve("broken/text.mp4"), in.resolve("t.mp4"));
        Path out = dir.resolve("out-grow");
        PrepJob.Summary first = run(in, out);
        assertEquals(1, first.clips());
        String createdAt = datasetJson(out).get("created_at").getAsString();

        assertEquals(1, first.newClips());
        assertTrue(first.clipsPerSecondPerCore() > 0);
        PrepJob.Summary again = run(in, out);
        assertNull(again.attempt());
        assertEquals(0, again.newVideos());
        assertEquals(first.clips(), again.clips());
        assertEquals(clipRows(out).size(), 1);

        Files.copy(input.resolve("spk1/b c.mp4"), in.resolve("b.mp4"));
        PrepJob.Summary grown = run(in, out);
        assertEquals(1, grown.newVideos());
        assertEquals(3, grown.clips());
        assertEquals(3, grown.videosSeen());
        List<Row> rows = clipRows(out);
        assertEquals(3, rows.stream().map(r -> r.getString(0)).distinct().count(), "clip ids are unique");
        assertEquals(createdAt, datasetJson(out).get("created_at").getAsString());
        assertEquals(2, datasetJson(out).getAsJsonArray("batches").size());
        assertEquals(2, spark.read().parquet(out.toString()).select("batch").distinct().count());
    }

    @Test
    void aRunKilledHalfWayAndRunAgainEndsWithTheDatasetOfOneCleanRun() throws Exception {
        Path clean = dir.resolve("out-clean");
        run(input, clean);

        Path resumed = dir.resolve("out-resumed");
        AtomicBoolean killed = new AtomicBoolean();
        SparkListener killer = new SparkListener() {
            @Override
            public void onTaskEnd(SparkListenerTaskEnd end) {
                if (killed.compareAndSet(false, true)) {
                    spark.sparkContext().cancelAllJobs();
                }
            }
        };
        spark.sparkContext().addSparkListener(killer);
        try {
            assertThrows(Exception.class, () -> run(input, resumed));
        } finally {
            spark.sparkContext().removeSparkListener(killer);
        }
        assertTrue(killed.get());
        // Nothing of the failed attempt is visible: no batch, no quarantine, no _dataset.json.
        try (Stream<Path> top = Files.list(resumed)) { // the journal holds the starts of the videos in flight
            assertEquals(List.of("_staging"), top.map(p -> p.getFileName().toString())
                    .filter(n -> !n.equals(PrepJournal.DIR)).toList());
        }

        run(input, resumed);
        List<Row> a = clipRows(clean);
        List<Row> b = clipRows(resumed);
        assertEquals(a.size(), b.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).getString(0), b.get(i).getString(0));
            assertEquals(a.get(i).getString(1), b.get(i).getString(1));
            assertEquals(a.get(i).getInt(2), b.get(i).getInt(2));
            assertArrayEquals(a.get(i).<byte[]>getAs(3), b.get(i).<byte[]>getAs(3), "frames of " + a.get(i).get(0));
            assertArrayEquals(a.get(i).<byte[]>getAs(4), b.get(i).<byte[]>getAs(4), "pcm of " + a.get(i).get(0));
        }
        assertEquals(quarantine(clean), quarantine(resumed));
        assertEquals(datasetJson(clean).get("counts"), datasetJson(resumed).get("counts"));
        assertFalse(Files.exists(resumed.resolve("_staging")));
    }

    @Test
    void aRunWhereEveryVideoIsBrokenCommitsOnlyTheQuarantine() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in-broken"));
        Files.copy(input.resolve("broken/short.mp4"), in.resolve("short.mp4"));
        Path out = dir.resolve("out-broken");
        PrepJob.Summary s = run(in, out);
        assertEquals(1, s.videosQuarantined());
        assertEquals(0, s.clips());
        assertEquals(Map.of("short.mp4", "too_short"), quarantine(out));
        try (Stream<Path> top = Files.list(out)) {
            assertEquals(List.of("_dataset.json", "_quarantine"),
                    top.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted().toList());
        }
    }

    @Test
    void aDifferentWindowStrideOnAnExistingDatasetIsRefused() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in-stride"));
        Files.copy(input.resolve("spk1/a.mp4"), in.resolve("a.mp4"));
        Path out = dir.resolve("out-stride");
        run(in, out);
        PrepConfig other = new PrepConfig(in.toString(), out.toString(), "local[2]", 32, Duration.ofSeconds(60), 1,
                64, 4, List.of("mp4"), Duration.ofSeconds(1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new PrepJob(spark, other, Clock.systemUTC()).run());
        assertTrue(e.getMessage().startsWith("Invalid value 32 for configuration window-stride: the dataset at "),
                e.getMessage());
    }

    @Test
    void aVideoStartedTwiceWithoutFinishingIsQuarantinedAsCrashedAndOnceIsTriedAgain() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in-crash"));
        Files.copy(input.resolve("spk1/a.mp4"), in.resolve("poison.mp4"));
        Files.copy(input.resolve("spk1/a.mp4"), in.resolve("killed.mp4"));
        Path out = dir.resolve("out-crash");
        // What two crashed tries of poison.mp4 and one killed try of killed.mp4 leave in the journal.
        Path poison = Files.createDirectories(out.resolve(PrepJournal.DIR).resolve(PrepJournal.key("poison.mp4")));
        Files.writeString(poison.resolve("1"), "task 0.0 attempt 0 on executor 1 started poison.mp4");
        Files.writeString(poison.resolve("2"), "task 0.0 attempt 1 on executor 2 started poison.mp4");
        Path killed = Files.createDirectories(out.resolve(PrepJournal.DIR).resolve(PrepJournal.key("killed.mp4")));
        Files.writeString(killed.resolve("1"), "task 0.1 attempt 0 on executor driver started killed.mp4");

        PrepJob.Summary s = run(in, out);
        assertEquals(Map.of("poison.mp4", "crashed"), quarantine(out));
        String detail = spark.read().parquet(out.resolve("_quarantine").toString()).first().getString(2);
        assertTrue(detail.contains("was started 2 times and never finished") && detail.contains("executor 2"), detail);
        assertEquals(1, s.videosWithClips(), "the video with one unfinished start is decoded again");
        assertEquals(List.of("killed.mp4"), clipRows(out).stream().map(r -> r.getString(1)).distinct().toList());
        assertFalse(Files.exists(out.resolve(PrepJournal.DIR)), "a finished run leaves no journal");
    }

    @Test
    void aBatchNoDescriptorListsIsDebrisThatTheNextRunDeletesAndRedoes() throws Exception {
        Path in = Files.createDirectories(dir.resolve("in-debris"));
        Files.copy(input.resolve("spk1/a.mp4"), in.resolve("a.mp4"));
        Files.copy(input.resolve("broken/text.mp4"), in.resolve("t.mp4"));
        Path out = dir.resolve("out-debris");
        PrepJob.Summary first = run(in, out);
        String batch = datasetJson(out).getAsJsonArray("batches").get(0).getAsString();
        // A commit that died after its renames and before the descriptor: the descriptor lists neither batch.
        JsonObject before = datasetJson(out);
        before.add("batches", new com.google.gson.JsonArray());
        before.add("quarantine_batches", new com.google.gson.JsonArray());
        Files.writeString(out.resolve("_dataset.json"), before.toString());
        Files.deleteIfExists(out.resolve("._dataset.json.crc")); // Hadoop's local checksum of the old bytes

        PrepJob.Summary again = run(in, out);
        assertEquals(2, again.newVideos(), "the debris batches' videos are prepared again");
        assertEquals(first.clips(), again.clips());
        assertFalse(Files.exists(out.resolve(batch)), "the debris batch is deleted");
        assertEquals(1, clipRows(out).size(), "no clip twice");
        assertEquals(Map.of("t.mp4", "unreadable"), quarantine(out));
        assertEquals(1, datasetJson(out).getAsJsonArray("batches").size());
        assertEquals(1, datasetJson(out).getAsJsonArray("quarantine_batches").size());
    }
}
