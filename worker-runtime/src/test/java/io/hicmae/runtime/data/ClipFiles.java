package io.hicmae.runtime.data;

import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.SimpleGroupFactory;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.example.ExampleParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.hadoop.util.HadoopOutputFile;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.MessageTypeParser;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.function.UnaryOperator;

/** Writes clip shards as the dataset-prep Spark job does (same columns and types, ZSTD), for tests. */
final class ClipFiles {

    /** Spark's schema for the version-1 clip table: every column optional, no label columns. */
    static final MessageType SCHEMA_V1 = MessageTypeParser.parseMessageType("message spark_schema {\n"
            + "  optional binary clip_id (STRING);\n"
            + "  optional binary source (STRING);\n"
            + "  optional int32 window;\n"
            + "  optional double start_s;\n"
            + "  optional double fps;\n"
            + "  optional binary frames;\n"
            + "  optional binary pcm;\n"
            + "  optional int32 frames_t;\n"
            + "  optional int32 height;\n"
            + "  optional int32 width;\n"
            + "  optional int32 channels;\n"
            + "  optional int32 sample_rate;\n"
            + "  optional int32 pcm_samples;\n"
            + "}");

    /** Spark's schema for the current clip table: version 1 and the nullable label columns. */
    static final MessageType SCHEMA = MessageTypeParser.parseMessageType(SCHEMA_V1.toString().replaceFirst("}\\s*$",
            "  optional int32 label;\n"
            + "  optional group dimensions (LIST) {\n"
            + "    repeated group list {\n"
            + "      required float element;\n"
            + "    }\n"
            + "  }\n"
            + "  optional binary split (STRING);\n"
            + "  optional int32 fold;\n"
            + "}"));

    private ClipFiles() {}

    /** Clip {@code i} of a synthetic dataset: id {@code clip-000i}, random frame bytes and samples seeded by i. */
    static StoredClip synthetic(ClipGeometry g, int i) {
        SplittableRandom rng = new SplittableRandom(i);
        byte[] frames = new byte[g.frameBytes()];
        rng.nextBytes(frames);
        short[] pcm = new short[g.samples()];
        for (int k = 0; k < pcm.length; k++) {
            pcm[k] = (short) rng.nextInt(-8000, 8000);
        }
        return new StoredClip(id(i), "speaker/" + i + ".mp4", frames, pcm, null);
    }

    static String id(int i) {
        return String.format("clip-%04d", i);
    }

    /**
     * Writes clips {@code [first, first + count)} of {@code source} to one ZSTD file, starting a new row group about
     * every {@code rowGroupBytes} bytes; a shape field can be overridden for one row.
     *
     * @param badRow the row (counted in this file) whose {@code badField} is written as {@code badValue}, or -1
     */
    static void write(Path file, ClipGeometry g, IntFunction<StoredClip> source, int first, int count,
            long rowGroupBytes, int badRow, String badField, int badValue) throws IOException {
        write(file, SCHEMA, g, source, first, count, rowGroupBytes, badRow, badField, badValue);
    }

    /**
     * As above, in the given table schema ({@link #SCHEMA} or {@link #SCHEMA_V1}); a clip's labels are written when
     * it has them and the schema has the columns.
     */
    static void write(Path file, MessageType schema, ClipGeometry g, IntFunction<StoredClip> source, int first,
            int count, long rowGroupBytes, int badRow, String badField, int badValue) throws IOException {
        Configuration conf = new Configuration();
        SimpleGroupFactory groups = new SimpleGroupFactory(schema);
        try (ParquetWriter<Group> w = ExampleParquetWriter
                .builder(HadoopOutputFile.fromPath(new org.apache.hadoop.fs.Path(file.toUri()), conf))
                .withConf(conf)
                .withType(schema)
                .withCompressionCodec(CompressionCodecName.ZSTD)
                .withRowGroupSize(rowGroupBytes)
                .withMinRowCountForPageSizeCheck(1)
                .withMaxRowCountForPageSizeCheck(1)
                .build()) {
            for (int r = 0; r < count; r++) {
                StoredClip c = source.apply(first + r);
                ByteBuffer pcm = ByteBuffer.allocate(c.pcm().length * 2).order(ByteOrder.LITTLE_ENDIAN);
                pcm.asShortBuffer().put(c.pcm());
                Group row = groups.newGroup()
                        .append(ClipSchema.CLIP_ID, c.clipId())
                        .append(ClipSchema.SOURCE, c.source())
                        .append(ClipSchema.WINDOW, 0)
                        .append(ClipSchema.START_S, 0.0)
                        .append(ClipSchema.FPS, 25.0)
                        .append(ClipSchema.FRAMES, Binary.fromConstantByteArray(c.frames()))
                        .append(ClipSchema.PCM, Binary.fromConstantByteArray(pcm.array()));
                String[] fields = {
                    ClipSchema.FRAMES_T, ClipSchema.HEIGHT, ClipSchema.WIDTH, ClipSchema.CHANNELS,
                    ClipSchema.SAMPLE_RATE, ClipSchema.PCM_SAMPLES
                };
                int[] values = {g.frames(), g.height(), g.width(), g.channels(), g.sampleRate(), g.samples()};
                for (int f = 0; f < fields.length; f++) {
                    row.append(fields[f], r == badRow && fields[f].equals(badField) ? badValue : values[f]);
                }
                if (c.labels() != null && schema.containsField(ClipSchema.LABEL)) {
                    appendLabels(row, c.labels());
                }
                w.write(row);
            }
        }
    }

    /** Writes one row of a table whose schema a test has broken; {@code fill} sets the row's fields. */
    static void writeOneRow(Path file, MessageType schema, UnaryOperator<Group> fill) throws IOException {
        Configuration conf = new Configuration();
        try (ParquetWriter<Group> w = ExampleParquetWriter
                .builder(HadoopOutputFile.fromPath(new org.apache.hadoop.fs.Path(file.toUri()), conf))
                .withType(schema)
                .withConf(conf)
                .build()) {
            w.write(fill.apply(new SimpleGroupFactory(schema).newGroup()));
        }
    }

    private static void appendLabels(Group row, ClipLabels l) {
        if (l.isCategorical()) {
            row.append(ClipSchema.LABEL, l.category());
        } else {
            Group list = row.addGroup(ClipSchema.DIMENSIONS);
            for (float d : l.dimensions()) {
                list.addGroup("list").append("element", d);
            }
        }
        if (l.split() != null) {
            row.append(ClipSchema.SPLIT, l.split());
        }
        if (l.fold() != ClipLabels.NO_FOLD) {
            row.append(ClipSchema.FOLD, l.fold());
        }
    }

    /**
     * {@link #dataset} of clips at the stored geometry ({@link ClipGeometry#STORED}), generated for {@code config}
     * ({@link GeneratedClips}, PCM padded or cut to the stored length), 8 MB row groups.
     */
    static List<Path> storedDataset(Path dir, io.hicmae.runtime.config.HicmaeConfig config, int[] clipsPerFile)
            throws IOException {
        ClipGeometry g = ClipGeometry.STORED;
        GeneratedClips generated = new GeneratedClips(config, 3, 4);
        return dataset(dir, g, i -> {
            GeneratedClips.Clip c = generated.clip(i);
            return new StoredClip(id(i), "speaker/" + i + ".mp4", c.frames(), java.util.Arrays.copyOf(c.pcm(),
                    g.samples()), null);
        }, clipsPerFile, 8L << 20);
    }

    /**
     * A finished dataset directory as the Spark job leaves it: {@code part-0000i.zstd.parquet} files holding
     * {@code clipsPerFile[i]} clips each (numbered on across files), {@code _SUCCESS}, {@code _dataset.json} and a
     * {@code _quarantine/} table that readers must skip.
     *
     * @return the data files, sorted
     */
    static List<Path> dataset(Path dir, ClipGeometry g, IntFunction<StoredClip> source, int[] clipsPerFile,
            long rowGroupBytes) throws IOException {
        Files.createDirectories(dir.resolve(ClipSchema.QUARANTINE_DIR));
        List<Path> files = new ArrayList<>();
        int first = 0;
        for (int f = 0; f < clipsPerFile.length; f++) {
            Path file = dir.resolve(String.format("part-%05d.zstd.parquet", f));
            write(file, g, source, first, clipsPerFile[f], rowGroupBytes, -1, null, 0);
            files.add(file);
            first += clipsPerFile[f];
        }
        write(dir.resolve(ClipSchema.QUARANTINE_DIR).resolve("part-00000.zstd.parquet"), g, source, 0, 1,
                rowGroupBytes, -1, null, 0);
        Files.writeString(dir.resolve(ClipSchema.DATASET_JSON), "{\"schemaVersion\": " + ClipSchema.VERSION + "}");
        Files.createFile(dir.resolve("_SUCCESS"));
        return files;
    }
}
