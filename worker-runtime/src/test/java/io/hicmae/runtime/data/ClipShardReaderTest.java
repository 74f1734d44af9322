package io.hicmae.runtime.data;

import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.ColumnChunkMetaData;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClipShardReaderTest {

    /** Small clips so a test writes and reads in milliseconds. */
    static final ClipGeometry SMALL = new ClipGeometry(16, 24, 24, 3, 16_000, 10_480);

    private final Configuration conf = new Configuration();

    @Test
    void listsOnlyTheDataFilesOfAFinishedDataset(@TempDir Path dir) throws IOException {
        List<Path> parts = ClipFiles.dataset(dir, SMALL, i -> ClipFiles.synthetic(SMALL, i), new int[] {2, 1, 3},
                1 << 20);
        Files.writeString(dir.resolve(".part-00009.zstd.parquet.tmp"), "in flight");
        List<String> listed = ClipShardReader.dataFiles(dir.toUri().toString(), conf);
        assertEquals(parts.size(), listed.size(), listed.toString());
        for (int i = 0; i < parts.size(); i++) {
            assertTrue(listed.get(i).endsWith("/" + parts.get(i).getFileName()), listed.get(i));
        }
    }

    @Test
    void refusesADatasetWithoutSuccessMarker(@TempDir Path dir) throws IOException {
        ClipFiles.write(dir.resolve("part-00000.zstd.parquet"), SMALL, i -> ClipFiles.synthetic(SMALL, i), 0, 1,
                1 << 20, -1, null, 0);
        IOException e = assertThrows(IOException.class,
                () -> ClipShardReader.dataFiles(dir.toUri().toString(), conf));
        assertTrue(e.getMessage().contains("_SUCCESS") && e.getMessage().contains(dir.toUri().toString()),
                e.getMessage());
    }

    @Test
    void readsZstdClipsAtTheRealGeometryBackExactly(@TempDir Path dir) throws IOException {
        ClipGeometry g = ClipGeometry.STORED;
        Path file = dir.resolve("part-00000.zstd.parquet");
        ClipFiles.write(file, g, i -> ClipFiles.synthetic(g, i), 0, 3, 1 << 20, -1, null, 0);
        List<StoredClip> read = new ArrayList<>();
        try (ParquetFileReader footer = ParquetFileReader.open(HadoopInputFile.fromPath(
                new org.apache.hadoop.fs.Path(file.toUri()), conf))) {
            for (ColumnChunkMetaData c : footer.getRowGroups().get(0).getColumns()) {
                assertEquals(CompressionCodecName.ZSTD, c.getCodec(), c.getPath().toDotString());
            }
        }
        try (ClipShardReader r = ClipShardReader.open(file.toUri().toString(), conf, g)) {
            r.readAll((row, clip) -> read.add(clip));
        }
        assertEquals(3, read.size());
        for (int i = 0; i < 3; i++) {
            StoredClip expected = ClipFiles.synthetic(g, i);
            assertEquals(expected.clipId(), read.get(i).clipId());
            assertArrayEquals(expected.frames(), read.get(i).frames(), "frames of clip " + i);
            assertArrayEquals(expected.pcm(), read.get(i).pcm(), "pcm of clip " + i);
        }
    }

    @Test
    void aWrongShapeFieldNamesTheFileRowAndField(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("part-00003.zstd.parquet");
        ClipFiles.write(file, SMALL, i -> ClipFiles.synthetic(SMALL, i), 0, 4, 1 << 20, 2, ClipSchema.HEIGHT, 23);
        try (ClipShardReader r = ClipShardReader.open(file.toUri().toString(), conf, SMALL)) {
            ClipFormatException e = assertThrows(ClipFormatException.class, () -> r.readAll((row, clip) -> { }));
            assertTrue(e.getMessage().contains("part-00003.zstd.parquet") && e.getMessage().contains("row 2: height = 23"),
                    e.getMessage());
        }
    }

    @Test
    void aMissingColumnNamesTheFileAndColumn(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("part-00000.zstd.parquet");
        MessageType noPcm = MessageTypeParser.parseMessageType(
                ClipFiles.SCHEMA.toString().replace("optional binary pcm;", ""));
        ClipFiles.writeOneRow(file, noPcm, row -> row.append(ClipSchema.CLIP_ID, "x"));
        ClipFormatException e = assertThrows(ClipFormatException.class,
                () -> ClipShardReader.open(file.toUri().toString(), conf, SMALL));
        assertTrue(e.getMessage().contains("part-00000.zstd.parquet") && e.getMessage().contains("no column pcm"),
                e.getMessage());
    }

    @Test
    void aShapeOtherThanTheExpectedGeometryIsRejected(@TempDir Path dir) throws IOException {
        Path file = dir.resolve("part-00000.zstd.parquet");
        ClipFiles.write(file, SMALL, i -> ClipFiles.synthetic(SMALL, i), 0, 1, 1 << 20, -1, null, 0);
        ClipGeometry other = new ClipGeometry(16, 24, 24, 3, 16_000, 10_400);
        try (ClipShardReader r = ClipShardReader.open(file.toUri().toString(), conf, other)) {
            ClipFormatException e = assertThrows(ClipFormatException.class, () -> r.readAll((row, clip) -> { }));
            assertTrue(e.getMessage().contains("row 0: pcm_samples = 10480, expected 10400"), e.getMessage());
        }
    }
}
