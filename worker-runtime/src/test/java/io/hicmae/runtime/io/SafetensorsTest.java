package io.hicmae.runtime.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SafetensorsTest {
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

    /** A safetensors file built by hand: length, JSON padded with spaces to 8 bytes, then raw data. */
    private static byte[] file(String json, byte[] data) {
        byte[] header = json.getBytes(StandardCharsets.UTF_8);
        int padded = (header.length + 7) / 8 * 8;
        ByteBuffer b = ByteBuffer.allocate(8 + padded + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(padded).put(header);
        while (b.position() < 8 + padded) {
            b.put((byte) ' ');
        }
        return b.put(data).array();
    }

    private static byte[] littleEndian(float... values) {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            b.putFloat(v);
        }
        return b.array();
    }

    private static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    @Test
    void roundTripKeepsNamesDtypesShapesValuesAndMetadata() throws IOException {
        Map<String, NDArray> arrays = NpzTest.sampleArrays(manager);
        arrays.put("half", manager.arange(3f).toType(DataType.FLOAT16, false));
        arrays.put("scalar", manager.create(2.5f));
        Path file = dir.resolve("w.safetensors");
        Safetensors.write(file, arrays, Map.of("step", "12", "format", "pt"));
        Map<String, NDArray> read = Safetensors.read(manager, file);
        assertEquals(arrays.keySet(), read.keySet());
        for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
            NDArray a = read.get(e.getKey());
            assertEquals(e.getKey(), a.getName());
            assertEquals(e.getValue().getDataType(), a.getDataType(), e.getKey());
            assertEquals(e.getValue().getShape(), a.getShape(), e.getKey());
            assertTrue(e.getValue().contentEquals(a), e.getKey());
        }
        assertEquals(Map.of("step", "12", "format", "pt"), Safetensors.readMetadata(file));
    }

    @Test
    void emptyMetadataWritesNoMetadataEntry() throws IOException {
        Path file = dir.resolve("m.safetensors");
        Safetensors.write(file, Map.of("x", manager.create(new long[] {5})), Map.of());
        String header = new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
        assertTrue(!header.contains("__metadata__"), header);
        assertEquals(Map.of(), Safetensors.readMetadata(file));
        assertEquals(5L, Safetensors.read(manager, file).get("x").getLong(0));
    }

    @Test
    void matchesReferenceImplementationBytesForItsOwnExamples() throws IOException {
        // the vectors of the safetensors crate's serialization tests
        NDArray values = manager.arange(6f);
        Path a = dir.resolve("a.safetensors");
        Safetensors.write(a, Map.of("attn.0", values.reshape(1, 2, 3)), null);
        assertArrayEquals(file("{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}",
                littleEndian(0, 1, 2, 3, 4, 5)), Files.readAllBytes(a));

        Path b = dir.resolve("b.safetensors");
        Safetensors.write(b, Map.of("attn0", values.reshape(1, 1, 2, 3)), null);
        byte[] aligned = Files.readAllBytes(b);
        assertEquals(72, ByteBuffer.wrap(aligned).order(ByteOrder.LITTLE_ENDIAN).getLong());
        assertArrayEquals(file("{\"attn0\":{\"dtype\":\"F32\",\"shape\":[1,1,2,3],\"data_offsets\":[0,24]}}",
                littleEndian(0, 1, 2, 3, 4, 5)), aligned);

        Path c = dir.resolve("c.safetensors");
        Safetensors.write(c, Map.of(), null);
        assertArrayEquals(new byte[] {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '},
                Files.readAllBytes(c));

        Path d = dir.resolve("d.safetensors");
        Safetensors.write(d, Map.of(), Map.of("framework", "pt"));
        assertArrayEquals(file("{\"__metadata__\":{\"framework\":\"pt\"}}", new byte[0]), Files.readAllBytes(d));
    }

    @Test
    void laysOutTensorsByDescendingDtypeThenNameExactlyAsReference() throws IOException {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        arrays.put("mask", manager.create(new boolean[] {true, false}));
        arrays.put("b", manager.create(new float[] {1f, 2f}));
        arrays.put("a", manager.create(new float[] {-0.5f}));
        arrays.put("idx", manager.create(new long[] {258}));
        Path file = dir.resolve("mixed.safetensors");
        Safetensors.write(file, arrays, Map.of("note", "q\"\\\n"));
        String json = "{\"__metadata__\":{\"note\":\"q\\\"\\\\\\n\"},"
                + "\"idx\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[12,20]},"
                + "\"mask\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[20,22]}}";
        byte[] data = concat(new byte[] {2, 1, 0, 0, 0, 0, 0, 0}, littleEndian(-0.5f, 1f, 2f), new byte[] {1, 0});
        assertArrayEquals(file(json, data), Files.readAllBytes(file));
    }

    @Test
    void readsBf16WidenedToFloat32() throws IOException {
        Path file = dir.resolve("bf16.safetensors");
        // bfloat16 1.0 = 0x3f80, -2.5 = 0xc020
        Files.write(file, file("{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}",
                new byte[] {(byte) 0x80, 0x3f, 0x20, (byte) 0xc0}));
        NDArray w = Safetensors.read(manager, file).get("w");
        assertEquals(DataType.FLOAT32, w.getDataType());
        assertArrayEquals(new float[] {1f, -2.5f}, w.toFloatArray());
    }

    @Test
    void rejectsHeaderLengthOverLimit() throws IOException {
        byte[] bytes = file("{}", new byte[0]);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Safetensors.MAX_HEADER_BYTES + 1);
        assertFormatError(bytes, "header length");
    }

    @Test
    void rejectsHeaderRunningPastEndOfFile() throws IOException {
        byte[] bytes = file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", littleEndian(1f));
        assertFormatError(Arrays.copyOf(bytes, 20), "header length");
    }

    @Test
    void rejectsTruncatedData() throws IOException {
        byte[] bytes = file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", littleEndian(1f, 2f));
        assertFormatError(Arrays.copyOf(bytes, bytes.length - 3), "'x'");
    }

    @Test
    void rejectsOverlappingTensors() throws IOException {
        assertFormatError(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", littleEndian(1f, 2f)), "overlap");
    }

    @Test
    void rejectsGapBetweenTensors() throws IOException {
        assertFormatError(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                littleEndian(1f, 2f)), "'x'");
    }

    @Test
    void rejectsByteCountThatDoesNotMatchDtypeAndShape() throws IOException {
        assertFormatError(file("{\"x\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                littleEndian(1f, 2f)), "'x'");
    }

    @Test
    void rejectsUnknownDtypeNamingTheTensor() throws IOException {
        assertFormatError(file("{\"x\":{\"dtype\":\"C128\",\"shape\":[1],\"data_offsets\":[0,8]}}",
                littleEndian(1f, 2f)), "'x'");
    }

    @Test
    void rejectsTrailingBytesAfterLastTensor() throws IOException {
        assertFormatError(file("{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                littleEndian(1f, 2f)), "extra bytes");
    }

    @Test
    void rejectsMalformedJson() throws IOException {
        assertFormatError(file("{\"x\":{\"dtype\":\"F32\",", new byte[0]), "JSON");
        assertFormatError(file("not json", new byte[0]), "header");
        assertFormatError(new byte[] {1, 2, 3}, "8-byte");
    }

    @Test
    void failedWriteLeavesExistingFileUnchanged() throws IOException {
        Path file = dir.resolve("keep.safetensors");
        Safetensors.write(file, Map.of("old", manager.create(new float[] {1f})), Map.of("v", "1"));
        byte[] before = Files.readAllBytes(file);
        NDArray released = manager.create(new float[] {2f});
        released.close();
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        arrays.put("a", manager.create(new float[] {3f, 4f}));
        arrays.put("b", released);
        assertThrows(IllegalStateException.class, () -> Safetensors.write(file, arrays, null));
        assertArrayEquals(before, Files.readAllBytes(file));
        try (var listing = Files.list(dir)) {
            assertEquals(List.of(file), listing.toList());
        }
    }

    private void assertFormatError(byte[] bytes, String detail) throws IOException {
        Path file = Files.createTempFile(dir, "bad", ".safetensors");
        Files.write(file, bytes);
        WeightsFormatException e = assertThrows(WeightsFormatException.class, () -> Safetensors.read(manager, file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains(detail), e.getMessage());
    }
}
