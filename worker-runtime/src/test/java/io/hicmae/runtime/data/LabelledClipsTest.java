package io.hicmae.runtime.data;

import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Labels (schema version 2) through the Parquet writer and {@link ClipShardReader}, and the label space. */
class LabelledClipsTest {

    private static final ClipGeometry SMALL = ClipShardReaderTest.SMALL;
    private final Configuration conf = new Configuration();

    /** Clip i of video i / 2 (two windows a video), with labels from {@code labels} of the video. */
    private static IntFunction<StoredClip> labelled(IntFunction<ClipLabels> labels) {
        return i -> {
            StoredClip c = ClipFiles.synthetic(SMALL, i);
            return new StoredClip(c.clipId(), "video-" + i / 2 + ".mp4", c.frames(), c.pcm(), labels.apply(i / 2));
        };
    }

    private List<StoredClip> readAll(Path file) throws IOException {
        List<StoredClip> read = new ArrayList<>();
        try (ClipShardReader r = ClipShardReader.open(file.toUri().toString(), conf, SMALL)) {
            r.readAll((row, clip) -> read.add(clip));
        }
        return read;
    }

    private static void assertSameClips(IntFunction<StoredClip> source, List<StoredClip> read) {
        for (int i = 0; i < read.size(); i++) {
            StoredClip expected = source.apply(i);
            assertEquals(expected.clipId(), read.get(i).clipId());
            assertEquals(expected.source(), read.get(i).source());
            assertArrayEquals(expected.frames(), read.get(i).frames(), "frames of clip " + i);
            assertEquals(expected.labels(), read.get(i).labels(), "labels of clip " + i);
        }
    }

    @Test
    void categoricalLabelsSplitsAndFoldsRoundTrip(@TempDir Path dir) throws IOException {
        // Video 2 has neither split nor fold: those read back as null and -1.
        IntFunction<StoredClip> source = labelled(v -> v == 2
                ? ClipLabels.categorical(v, null, ClipLabels.NO_FOLD)
                : ClipLabels.categorical(v % 3, v % 2 == 0 ? "train" : "val", v));
        Path file = dir.resolve("part-00000.zstd.parquet");
        ClipFiles.write(file, SMALL, source, 0, 8, 1 << 20, -1, null, 0);
        List<StoredClip> read = readAll(file);
        assertEquals(8, read.size());
        assertSameClips(source, read);
        assertEquals(ClipLabels.categorical(1, "val", 1), read.get(3).labels());
        assertNull(read.get(4).labels().split());
        assertEquals(-1, read.get(5).labels().fold());
        assertTrue(read.get(6).labels().isCategorical());
    }

    @Test
    void dimensionalTargetsRoundTripInOrder(@TempDir Path dir) throws IOException {
        IntFunction<StoredClip> source = labelled(v -> ClipLabels.dimensional(
                new float[] {0.25f * v - 1, -3.5f + v, 1e-3f * v}, "test", v % 5));
        Path file = dir.resolve("part-00000.zstd.parquet");
        ClipFiles.write(file, SMALL, source, 0, 6, 1 << 20, -1, null, 0);
        List<StoredClip> read = readAll(file);
        assertEquals(6, read.size());
        assertSameClips(source, read);
        assertArrayEquals(new float[] {-0.5f, -1.5f, 0.002f}, read.get(4).labels().dimensions());
        assertEquals(ClipLabels.NO_CATEGORY, read.get(4).labels().category());
    }

    @Test
    void unlabelledRowsOfTheCurrentSchemaReadWithoutLabels(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("part-00000.zstd.parquet");
        ClipFiles.write(file, SMALL, i -> ClipFiles.synthetic(SMALL, i), 0, 2, 1 << 20, -1, null, 0);
        for (StoredClip c : readAll(file)) {
            assertNull(c.labels());
        }
    }

    @Test
    void aVersionOneDatasetStillReadsUnlabelled(@TempDir Path dir) throws IOException {
        // Even a clip that has labels in memory: a version-1 file has no columns for them.
        IntFunction<StoredClip> source = labelled(v -> ClipLabels.categorical(v, "train", 0));
        Path file = dir.resolve("part-00000.zstd.parquet");
        ClipFiles.write(file, ClipFiles.SCHEMA_V1, SMALL, source, 0, 3, 1 << 20, -1, null, 0);
        Files.writeString(dir.resolve(ClipSchema.DATASET_JSON), "{\"schema_version\": 1}");
        assertEquals(1, ClipShardReader.dataFiles(dir.toUri().toString(), conf).size());
        List<StoredClip> read = readAll(file);
        assertEquals(3, read.size());
        for (int i = 0; i < 3; i++) {
            assertEquals("video-" + i / 2 + ".mp4", read.get(i).source());
            assertNull(read.get(i).labels(), "labels of clip " + i);
        }
        assertEquals(Optional.empty(), LabelSpace.read(dir.toUri().toString(), conf));
    }

    @Test
    void aMistypedLabelColumnNamesTheFileAndColumn(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("part-00007.zstd.parquet");
        MessageType floatLabel = MessageTypeParser.parseMessageType(
                ClipFiles.SCHEMA.toString().replace("optional int32 label;", "optional float label;"));
        ClipFiles.writeOneRow(file, floatLabel, row -> row.append(ClipSchema.LABEL, 1.5f));
        ClipFormatException e = assertThrows(ClipFormatException.class,
                () -> ClipShardReader.open(file.toUri().toString(), conf, SMALL));
        assertTrue(e.getMessage().contains("part-00007.zstd.parquet") && e.getMessage().contains("column label"),
                e.getMessage());
    }

    @Test
    void labelsValidateInTheConstructor() {
        assertThrows(IllegalArgumentException.class, () -> new ClipLabels(-2, new float[0], null, -1));
        assertThrows(IllegalArgumentException.class, () -> new ClipLabels(0, new float[] {1}, null, -1));
        assertThrows(IllegalArgumentException.class, () -> new ClipLabels(-1, new float[0], null, -1));
        assertThrows(IllegalArgumentException.class, () -> ClipLabels.dimensional(new float[] {Float.NaN}, null, -1));
        assertThrows(IllegalArgumentException.class, () -> ClipLabels.categorical(0, " ", -1));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ClipLabels.categorical(0, null, -2));
        assertTrue(e.getMessage().contains("Invalid value -2 for label fold"), e.getMessage());
        float[] dims = {1, 2};
        ClipLabels l = ClipLabels.dimensional(dims, null, -1);
        dims[0] = 9;
        assertEquals(1f, l.dimensions()[0], "the record keeps its own copy");
        assertEquals(ClipLabels.dimensional(new float[] {1, 2}, null, -1), l);
        assertNotEquals(ClipLabels.dimensional(new float[] {1, 3}, null, -1), l);
    }

    @Test
    void labelSpaceReadsFromDatasetJsonAndChecksLabels(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(ClipSchema.DATASET_JSON), "{\"schema_version\": 2, \"labels\": {\"kind\":"
                + " \"dimensional\", \"names\": [\"arousal\", \"valence\"]}}");
        LabelSpace space = LabelSpace.read(dir.toUri().toString(), conf).orElseThrow();
        assertEquals(new LabelSpace(LabelSpace.Kind.DIMENSIONAL, List.of("arousal", "valence")), space);
        space.check(ClipLabels.dimensional(new float[] {0.1f, 0.2f}, null, -1), "clip 0");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> space.check(ClipLabels.dimensional(new float[] {0.1f}, null, -1), "clip 1"));
        assertTrue(e.getMessage().startsWith("clip 1: 1 label dimensions"), e.getMessage());

        LabelSpace classes = new LabelSpace(LabelSpace.Kind.CATEGORICAL, List.of("angry", "happy"));
        assertThrows(IllegalArgumentException.class, () -> classes.check(ClipLabels.categorical(2, null, -1), "c"));
        assertEquals(java.util.Map.of("kind", "categorical", "names", List.of("angry", "happy")), classes.toJson());
    }

    @Test
    void aMalformedLabelSpaceNamesTheFile(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve(ClipSchema.DATASET_JSON),
                "{\"labels\": {\"kind\": \"ordinal\", \"names\": [\"a\"]}}");
        IOException e = assertThrows(IOException.class, () -> LabelSpace.read(dir.toUri().toString(), conf));
        assertTrue(e.getMessage().contains(ClipSchema.DATASET_JSON) && e.getMessage().contains("ordinal"),
                e.getMessage());
        Files.writeString(dir.resolve(ClipSchema.DATASET_JSON), "{\"labels\": {\"kind\": \"categorical\","
                + " \"names\": [\"a\", \"a\"]}}");
        e = assertThrows(IOException.class, () -> LabelSpace.read(dir.toUri().toString(), conf));
        assertTrue(e.getMessage().contains("names repeat"), e.getMessage());
    }
}
