package io.hicmae.runtime.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NpzTest {
    @TempDir
    Path dir;
    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() {
        manager.close();
    }

    static Map<String, NDArray> sampleArrays(NDManager m) {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        arrays.put("encoder.blocks.0.attn.qkv.weight", m.arange(6f).reshape(2, 3));
        arrays.put("labels", m.create(new long[] {3, -1, Long.MAX_VALUE, 0}));
        arrays.put("mask", m.create(new boolean[] {true, false, false, true, true}));
        arrays.put("loss.total", m.create(new float[] {3.1505096f}));
        arrays.put("a.transposed", m.arange(12f).toType(DataType.FLOAT64, false).reshape(3, 4).transpose());
        arrays.put("index32", m.create(new int[] {7, 8}, new Shape(1, 2)));
        arrays.put("bytes", m.create(new byte[] {1, (byte) 200}).toType(DataType.UINT8, false));
        return arrays;
    }

    static void assertSameArrays(Map<String, NDArray> expected, Map<String, NDArray> actual) {
        assertEquals(new ArrayList<>(expected.keySet()), new ArrayList<>(actual.keySet()));
        for (Map.Entry<String, NDArray> e : expected.entrySet()) {
            NDArray a = actual.get(e.getKey());
            assertEquals(e.getKey(), a.getName());
            assertEquals(e.getValue().getDataType(), a.getDataType(), e.getKey());
            assertEquals(e.getValue().getShape(), a.getShape(), e.getKey());
            assertTrue(e.getValue().contentEquals(a), e.getKey());
        }
    }

    @Test
    void roundTripKeepsKeysInOrderWithDtypesShapesAndValues() throws IOException {
        Map<String, NDArray> arrays = sampleArrays(manager);
        Path file = dir.resolve("w.npz");
        Npz.write(file, arrays);
        assertSameArrays(arrays, Npz.read(manager, file));
    }

    @Test
    void writesUncompressedNpyEntriesWithNumpyVersion1Header() throws IOException {
        Path file = dir.resolve("one.npz");
        Npz.write(file, Map.of("x", manager.create(new float[] {1, 2, 3, 4, 5, 6}, new Shape(2, 3))));
        byte[] expected = new byte[128 + 24];
        byte[] preamble = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 118, 0};
        System.arraycopy(preamble, 0, expected, 0, preamble.length);
        byte[] dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(dict, 0, expected, 10, dict.length);
        Arrays.fill(expected, 10 + dict.length, 127, (byte) ' ');
        expected[127] = '\n';
        float[] values = {1, 2, 3, 4, 5, 6};
        for (int i = 0; i < values.length; i++) {
            int bits = Float.floatToIntBits(values[i]);
            for (int b = 0; b < 4; b++) {
                expected[128 + 4 * i + b] = (byte) (bits >>> (8 * b));
            }
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {
            List<? extends ZipEntry> entries = zip.stream().toList();
            assertEquals(1, entries.size());
            assertEquals("x.npy", entries.get(0).getName());
            assertEquals(ZipEntry.STORED, entries.get(0).getMethod());
            try (InputStream in = zip.getInputStream(entries.get(0))) {
                assertArrayEquals(expected, in.readAllBytes());
            }
        }
    }

    @Test
    void readsGoldenWeightsByAuthorsKeysLikeDjlDecode() throws IOException {
        Path file = Path.of(System.getProperty("hicmae.golden.dir"), "weights.npz");
        Map<String, NDArray> weights = Npz.read(manager, file);
        assertEquals(410, weights.size());
        assertEquals(List.of("mask_token", "mask_token_audio", "encoder.patch_embed.proj.weight",
                "encoder.patch_embed.proj.bias"), new ArrayList<>(weights.keySet()).subList(0, 4));
        assertEquals(new Shape(32, 3, 2, 4, 4), weights.get("encoder.patch_embed.proj.weight").getShape());
        try (InputStream in = Files.newInputStream(file)) {
            NDList decoded = NDList.decode(manager, in);
            for (NDArray d : decoded) {
                assertTrue(d.contentEquals(weights.get(d.getName())), d.getName());
            }
        }
    }

    @Test
    void nonZipFileIsRejectedNamingTheFile() throws IOException {
        Path file = dir.resolve("text.npz");
        Files.writeString(file, "this is not a zip archive");
        assertFormatError(file, "zip");
    }

    @Test
    void truncatedArchiveIsRejectedNamingTheFile() throws IOException {
        byte[] golden = Files.readAllBytes(Path.of(System.getProperty("hicmae.golden.dir"), "inputs.npz"));
        Path file = dir.resolve("cut.npz");
        Files.write(file, Arrays.copyOf(golden, golden.length / 2));
        assertFormatError(file, "zip");
    }

    @Test
    void entryWithTooFewDataBytesIsRejectedNamingTheKey() throws IOException {
        Path file = dir.resolve("short.npz");
        Npz.write(file, Map.of("w", manager.create(new float[] {1, 2, 3})));
        byte[] npy;
        try (ZipFile zip = new ZipFile(file.toFile()); InputStream in = zip.getInputStream(zip.getEntry("w.npy"))) {
            npy = in.readAllBytes();
        }
        writeZip(file, "w.npy", Arrays.copyOf(npy, npy.length - 5));
        assertFormatError(file, "'w'");
    }

    @Test
    void readsDeflatedEntriesAsSavezCompressedWritesThem() throws IOException {
        Path file = dir.resolve("deflated.npz");
        NDArray w = manager.arange(12f).reshape(3, 4);
        Npz.write(file, Map.of("w", w));
        byte[] npy;
        try (ZipFile zip = new ZipFile(file.toFile()); InputStream in = zip.getInputStream(zip.getEntry("w.npy"))) {
            npy = in.readAllBytes();
        }
        writeZip(file, "w.npy", npy);
        assertTrue(w.contentEquals(Npz.read(manager, file).get("w")));
    }

    @Test
    void entryWithoutNpyMagicIsRejectedNamingTheKey() throws IOException {
        Path file = dir.resolve("magic.npz");
        writeZip(file, "bias.npy", "definitely not npy data".getBytes(StandardCharsets.US_ASCII));
        assertFormatError(file, "'bias'");
    }

    @Test
    void failedWriteLeavesExistingFileUnchanged() throws IOException {
        Path file = dir.resolve("keep.npz");
        Npz.write(file, Map.of("old", manager.create(new float[] {1f})));
        byte[] before = Files.readAllBytes(file);
        NDArray released = manager.create(new float[] {2f});
        released.close();
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        arrays.put("first", manager.create(new float[] {3f, 4f}));
        arrays.put("second", released);
        assertThrows(IllegalStateException.class, () -> Npz.write(file, arrays));
        assertArrayEquals(before, Files.readAllBytes(file));
        try (var listing = Files.list(dir)) {
            assertEquals(List.of(file), listing.toList());
        }
    }

    private void assertFormatError(Path file, String detail) {
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> Npz.read(manager, file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(detail), e.getMessage());
    }

    /** A one-entry zip with the default (deflate) method. */
    private static void writeZip(Path file, String entry, byte[] content) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            zip.putNextEntry(new ZipEntry(entry));
            zip.write(content);
            zip.closeEntry();
        }
        try (OutputStream out = Files.newOutputStream(file)) {
            bytes.writeTo(out);
        }
    }
}
