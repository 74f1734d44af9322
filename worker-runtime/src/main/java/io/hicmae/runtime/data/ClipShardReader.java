package io.hicmae.runtime.data;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.parquet.HadoopReadOptions;
import org.apache.parquet.column.page.PageReadStore;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.example.data.simple.convert.GroupRecordConverter;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.metadata.BlockMetaData;
import org.apache.parquet.hadoop.util.HadoopInputFile;
import org.apache.parquet.io.ColumnIOFactory;
import org.apache.parquet.io.RecordReader;
import org.apache.parquet.io.api.Binary;
import org.apache.parquet.schema.MessageType;
import org.apache.parquet.schema.PrimitiveType.PrimitiveTypeName;
import org.apache.parquet.schema.Type;

import java.io.IOException;
import java.net.URI;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;

/**
 * Reads one Parquet clip shard (see {@link ClipSchema}) on any Hadoop {@link FileSystem}, one row group at a time and
 * one row at a time within it, so a file is never held whole in memory; only the projected columns (clip id, source,
 * frames, pcm, the shape fields, and the label columns where the file has them) are fetched. A file without label
 * columns (schema version 1) reads as unlabelled. Every row's shape fields and tensor sizes are checked against a
 * {@link ClipGeometry}; a mismatch throws {@link ClipFormatException} naming the file, the row and the field.
 *
 * <p>Memory: parquet-hadoop loads a row group's projected column chunks (compressed) at once and decompresses page by
 * page, so a reader holds about one row group's compressed frames and pcm.
 */
public final class ClipShardReader implements AutoCloseable {

    /** Shape fields in the order they are checked, with the geometry value each must equal. */
    private static final String[] SHAPE_FIELDS = {
        ClipSchema.FRAMES_T, ClipSchema.HEIGHT, ClipSchema.WIDTH, ClipSchema.CHANNELS, ClipSchema.SAMPLE_RATE,
        ClipSchema.PCM_SAMPLES
    };
    private static final String SUCCESS_MARKER = "_SUCCESS";

    /** Receives the rows of a row group. */
    @FunctionalInterface
    public interface RowConsumer {
        /**
         * @param rowInGroup the row's index within its row group
         * @param clip the checked clip
         */
        void accept(int rowInGroup, StoredClip clip) throws IOException;
    }

    private final String file;
    private final ClipGeometry geometry;
    private final ParquetFileReader reader;
    private final MessageType fileSchema;
    private final MessageType projection;
    private final long[] firstRow;
    private final boolean hasLabel;
    private final boolean hasDimensions;
    private final boolean hasSplit;
    private final boolean hasFold;

    private ClipShardReader(String file, ClipGeometry geometry, ParquetFileReader reader) throws IOException {
        this.file = file;
        this.geometry = geometry;
        this.reader = reader;
        this.fileSchema = reader.getFooter().getFileMetaData().getSchema();
        this.projection = projection(file, fileSchema);
        this.hasLabel = projection.containsField(ClipSchema.LABEL);
        this.hasDimensions = projection.containsField(ClipSchema.DIMENSIONS);
        this.hasSplit = projection.containsField(ClipSchema.SPLIT);
        this.hasFold = projection.containsField(ClipSchema.FOLD);
        reader.setRequestedSchema(projection);
        List<BlockMetaData> blocks = reader.getRowGroups();
        this.firstRow = new long[blocks.size() + 1];
        for (int g = 0; g < blocks.size(); g++) {
            firstRow[g + 1] = firstRow[g] + blocks.get(g).getRowCount();
        }
    }

    /**
     * Opens a shard and reads its footer; the file must have every column {@link ClipShardReader} projects.
     *
     * @param file the shard's URI, e.g. from {@link #dataFiles}
     */
    public static ClipShardReader open(String file, Configuration conf, ClipGeometry geometry) throws IOException {
        ParquetFileReader reader = ParquetFileReader.open(HadoopInputFile.fromPath(new Path(file), conf),
                HadoopReadOptions.builder(conf).build());
        try {
            return new ClipShardReader(file, geometry, reader);
        } catch (IOException | RuntimeException e) {
            reader.close();
            throw e;
        }
    }

    /**
     * The data files of a finished dataset directory, sorted by URI: every file below {@code datasetUri} whose name
     * and folders start with neither {@code _} nor {@code .} (so {@code _SUCCESS}, {@code _dataset.json},
     * {@code _quarantine/} and checksum files are skipped).
     *
     * @throws IOException when the directory has neither {@code _dataset.json} nor {@code _SUCCESS} (the writing job
     *     did not finish, and
     *     ranks listing it could see different files)
     */
    public static List<String> dataFiles(String datasetUri, Configuration conf) throws IOException {
        Path root = new Path(URI.create(datasetUri));
        FileSystem fs = root.getFileSystem(conf);
        if (!fs.exists(root)) {
            throw new IOException(datasetUri + ": no such clip dataset");
        }
        if (!fs.exists(new Path(root, SUCCESS_MARKER)) && !fs.exists(new Path(root, ClipSchema.DATASET_JSON))) {
            throw new IOException(datasetUri + ": neither " + ClipSchema.DATASET_JSON + " (written by 'hicmae prep') nor "
                    + SUCCESS_MARKER + " is there; the job writing this dataset has not finished");
        }
        List<String> files = new ArrayList<>();
        collect(fs, root, files);
        files.sort(null);
        return files;
    }

    private static void collect(FileSystem fs, Path dir, List<String> out) throws IOException {
        for (FileStatus s : fs.listStatus(dir)) {
            String name = s.getPath().getName();
            if (name.startsWith("_") || name.startsWith(".")) {
                continue;
            }
            if (s.isDirectory()) {
                collect(fs, s.getPath(), out);
            } else {
                out.add(s.getPath().toString());
            }
        }
    }

    /**
     * The columns a reader fetches, typed as this file declares them; a missing or mistyped column throws. The label
     * columns are optional, each taken when the file has it.
     */
    private static MessageType projection(String file, MessageType schema) throws ClipFormatException {
        List<Type> fields = new ArrayList<>();
        fields.add(column(file, schema, ClipSchema.CLIP_ID, PrimitiveTypeName.BINARY));
        fields.add(column(file, schema, ClipSchema.SOURCE, PrimitiveTypeName.BINARY));
        fields.add(column(file, schema, ClipSchema.FRAMES, PrimitiveTypeName.BINARY));
        fields.add(column(file, schema, ClipSchema.PCM, PrimitiveTypeName.BINARY));
        for (String f : SHAPE_FIELDS) {
            fields.add(column(file, schema, f, PrimitiveTypeName.INT32));
        }
        if (schema.containsField(ClipSchema.LABEL)) {
            fields.add(column(file, schema, ClipSchema.LABEL, PrimitiveTypeName.INT32));
        }
        if (schema.containsField(ClipSchema.DIMENSIONS)) {
            fields.add(floatList(file, schema, ClipSchema.DIMENSIONS));
        }
        if (schema.containsField(ClipSchema.SPLIT)) {
            fields.add(column(file, schema, ClipSchema.SPLIT, PrimitiveTypeName.BINARY));
        }
        if (schema.containsField(ClipSchema.FOLD)) {
            fields.add(column(file, schema, ClipSchema.FOLD, PrimitiveTypeName.INT32));
        }
        return new MessageType(schema.getName(), fields);
    }

    /** A Parquet LIST of floats in the standard three-level form: {@code group (LIST) { repeated group list { float } }}. */
    private static Type floatList(String file, MessageType schema, String name) throws ClipFormatException {
        Type t = schema.getType(name);
        boolean ok = !t.isPrimitive() && !t.isRepetition(Type.Repetition.REPEATED)
                && t.asGroupType().getFieldCount() == 1;
        if (ok) {
            Type list = t.asGroupType().getType(0);
            ok = !list.isPrimitive() && list.isRepetition(Type.Repetition.REPEATED)
                    && list.asGroupType().getFieldCount() == 1;
            if (ok) {
                Type element = list.asGroupType().getType(0);
                ok = element.isPrimitive() && !element.isRepetition(Type.Repetition.REPEATED)
                        && element.asPrimitiveType().getPrimitiveTypeName() == PrimitiveTypeName.FLOAT;
            }
        }
        if (!ok) {
            throw new ClipFormatException(file, "column " + name + " is " + t + ", expected a list of FLOAT");
        }
        return t;
    }

    private static Type column(String file, MessageType schema, String name, PrimitiveTypeName type)
            throws ClipFormatException {
        if (!schema.containsField(name)) {
            throw new ClipFormatException(file, "has no column " + name + " (schema version " + ClipSchema.VERSION
                    + " expected)");
        }
        Type t = schema.getType(name);
        if (!t.isPrimitive() || t.asPrimitiveType().getPrimitiveTypeName() != type || t.isRepetition(
                Type.Repetition.REPEATED)) {
            throw new ClipFormatException(file, "column " + name + " is " + t + ", expected a single " + type);
        }
        return t;
    }

    /** Rows per row group of a shard, from its footer alone; the file must have every projected column. */
    static long[] rowGroupSizes(String file, Configuration conf) throws IOException {
        try (ClipShardReader r = open(file, conf, ClipGeometry.STORED)) {
            long[] rows = new long[r.rowGroupCount()];
            for (int g = 0; g < rows.length; g++) {
                rows[g] = r.rowCount(g);
            }
            return rows;
        }
    }

    /** The shard's URI. */
    public String file() {
        return file;
    }

    public int rowGroupCount() {
        return firstRow.length - 1;
    }

    public long rowCount(int rowGroup) {
        return firstRow[rowGroup + 1] - firstRow[rowGroup];
    }

    /**
     * Streams the rows of one row group in order. Every row is checked; only rows that {@code wanted} accepts are
     * decoded and passed on.
     *
     * @param rowGroup row group index in this file
     * @param wanted takes the row's index within the row group
     */
    public void readRowGroup(int rowGroup, IntPredicate wanted, RowConsumer consumer) throws IOException {
        if (rowGroup < 0 || rowGroup >= rowGroupCount()) {
            throw new IllegalArgumentException(file + ": row group " + rowGroup + " out of range [0, "
                    + rowGroupCount() + ")");
        }
        PageReadStore pages = reader.readRowGroup(rowGroup);
        if (pages == null) {
            throw new ClipFormatException(file, "row group " + rowGroup + " ends before its footer's row count");
        }
        RecordReader<Group> records = new ColumnIOFactory().getColumnIO(projection, fileSchema)
                .getRecordReader(pages, new GroupRecordConverter(projection));
        int rows = Math.toIntExact(rowCount(rowGroup));
        for (int r = 0; r < rows; r++) {
            Group g = records.read();
            long row = firstRow[rowGroup] + r;
            checkShape(g, row);
            if (wanted.test(r)) {
                consumer.accept(r, decode(g, row));
            }
        }
    }

    /** Streams every row of the file, row group by row group. */
    public void readAll(RowConsumer consumer) throws IOException {
        for (int g = 0; g < rowGroupCount(); g++) {
            readRowGroup(g, r -> true, consumer);
        }
    }

    private void checkShape(Group g, long row) throws ClipFormatException {
        int[] expected = {
            geometry.frames(), geometry.height(), geometry.width(), geometry.channels(), geometry.sampleRate(),
            geometry.samples()
        };
        for (int i = 0; i < SHAPE_FIELDS.length; i++) {
            int v = present(g, SHAPE_FIELDS[i], row).getInteger(SHAPE_FIELDS[i], 0);
            if (v != expected[i]) {
                throw new ClipFormatException(file, "row " + row + ": " + SHAPE_FIELDS[i] + " = " + v
                        + ", expected " + expected[i]);
            }
        }
    }

    private StoredClip decode(Group g, long row) throws ClipFormatException {
        String id = present(g, ClipSchema.CLIP_ID, row).getString(ClipSchema.CLIP_ID, 0);
        Binary frames = present(g, ClipSchema.FRAMES, row).getBinary(ClipSchema.FRAMES, 0);
        Binary pcm = present(g, ClipSchema.PCM, row).getBinary(ClipSchema.PCM, 0);
        if (frames.length() != geometry.frameBytes()) {
            throw new ClipFormatException(file, "row " + row + " (" + id + "): " + ClipSchema.FRAMES + " holds "
                    + frames.length() + " bytes, expected " + geometry.frameBytes());
        }
        if (pcm.length() != geometry.pcmBytes()) {
            throw new ClipFormatException(file, "row " + row + " (" + id + "): " + ClipSchema.PCM + " holds "
                    + pcm.length() + " bytes, expected " + geometry.pcmBytes());
        }
        short[] samples = new short[geometry.samples()];
        pcm.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(samples);
        String source = present(g, ClipSchema.SOURCE, row).getString(ClipSchema.SOURCE, 0);
        return new StoredClip(id, source, frames.getBytes(), samples, labels(g, row, id));
    }

    /** The row's labels, or null when it has neither a class index nor dimensions. */
    private ClipLabels labels(Group g, long row, String id) throws ClipFormatException {
        boolean categorical = hasLabel && g.getFieldRepetitionCount(ClipSchema.LABEL) > 0;
        boolean dimensional = hasDimensions && g.getFieldRepetitionCount(ClipSchema.DIMENSIONS) > 0;
        if (!categorical && !dimensional) {
            return null;
        }
        int category = categorical ? g.getInteger(ClipSchema.LABEL, 0) : ClipLabels.NO_CATEGORY;
        float[] dimensions = new float[0];
        if (dimensional) {
            Group list = g.getGroup(ClipSchema.DIMENSIONS, 0);
            dimensions = new float[list.getFieldRepetitionCount(0)];
            for (int i = 0; i < dimensions.length; i++) {
                dimensions[i] = list.getGroup(0, i).getFloat(0, 0);
            }
        }
        String split = hasSplit && g.getFieldRepetitionCount(ClipSchema.SPLIT) > 0
                ? g.getString(ClipSchema.SPLIT, 0)
                : null;
        int fold = hasFold && g.getFieldRepetitionCount(ClipSchema.FOLD) > 0
                ? g.getInteger(ClipSchema.FOLD, 0)
                : ClipLabels.NO_FOLD;
        try {
            return new ClipLabels(category, dimensions, split, fold);
        } catch (IllegalArgumentException e) {
            throw new ClipFormatException(file, "row " + row + " (" + id + "): " + e.getMessage());
        }
    }

    private Group present(Group g, String field, long row) throws ClipFormatException {
        if (g.getFieldRepetitionCount(field) == 0) {
            throw new ClipFormatException(file, "row " + row + ": " + field + " is null");
        }
        return g;
    }

    @Override
    public void close() throws IOException {
        reader.close();
    }
}
