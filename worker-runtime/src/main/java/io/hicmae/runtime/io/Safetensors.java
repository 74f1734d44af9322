package io.hicmae.runtime.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Strictness;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;

import java.io.IOException;
import java.io.StringReader;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.CharBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Reads and writes the Hugging Face safetensors format byte for byte as the reference implementation
 * ({@code safetensors} crate) does: an 8-byte little-endian header length, a compact JSON header
 * ({@code __metadata__} first, then one {@code {"dtype","shape","data_offsets"}} object per tensor),
 * padded with spaces to a multiple of 8 bytes, then the little-endian, C-ordered tensor data back to back.
 * Tensors are laid out by descending dtype (in the reference's dtype order) and then by name.
 *
 * <p>Reading validates the file as strictly as the reference: header at most 100 MB, valid UTF-8 JSON,
 * known dtypes, byte counts that match dtype and shape, and data offsets that tile the data section
 * exactly (no gap, no overlap, nothing past the end of the file).
 *
 * <p>BF16 tensors are read widened (exactly) to float32: DJL 0.36 with PyTorch 2.7.1 aborts the JVM
 * when a {@code BFLOAT16} array is created, whether from a buffer or by {@code toType}.
 */
public final class Safetensors {
    /** The reference implementation's limit on the JSON header. */
    static final long MAX_HEADER_BYTES = 100_000_000L;
    private static final String METADATA_KEY = "__metadata__";

    /** Supported dtypes, declared in the reference implementation's order (which sets the data layout). */
    private enum Dtype {
        BOOL(DataType.BOOLEAN), U8(DataType.UINT8), I8(DataType.INT8), F16(DataType.FLOAT16),
        BF16(DataType.BFLOAT16), I32(DataType.INT32), F32(DataType.FLOAT32), F64(DataType.FLOAT64),
        I64(DataType.INT64);

        final DataType djl;

        Dtype(DataType djl) {
            this.djl = djl;
        }

        static Dtype of(String key, DataType type) {
            for (Dtype d : values()) {
                if (d.djl == type) {
                    return d;
                }
            }
            throw new IllegalArgumentException("tensor '" + key + "': dtype " + type
                    + " cannot be written to safetensors");
        }
    }

    private record Entry(String key, Dtype dtype, long[] shape, long begin, long end) {
    }

    private record Header(Map<String, String> metadata, List<Entry> entries, long dataStart) {
    }

    private Safetensors() {
    }

    /**
     * Reads every tensor of a safetensors file.
     *
     * @param manager manager that owns the new arrays
     * @param file    the file
     * @return tensors in data order, keyed (and {@link NDArray#getName() named}) by tensor name; BF16
     *     tensors come back as float32
     * @throws WeightsFormatException if the file violates the format; the message names file and tensor
     * @throws IOException            if the file cannot be read
     */
    public static Map<String, NDArray> read(NDManager manager, Path file) throws IOException {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            Header header = readHeader(channel, file);
            for (Entry e : header.entries) {
                long bytes = e.end - e.begin;
                if (bytes > Integer.MAX_VALUE) {
                    throw new WeightsFormatException(file, "tensor '" + e.key + "': " + bytes
                            + " bytes exceed the 2 GiB limit of one array");
                }
                ByteBuffer data = manager.allocateDirect((int) bytes);
                long position = header.dataStart + e.begin;
                while (data.hasRemaining()) {
                    int n = channel.read(data, position);
                    if (n < 0) {
                        throw new WeightsFormatException(file, "tensor '" + e.key + "': file ended inside its data");
                    }
                    position += n;
                }
                data.rewind();
                NDArray array = e.dtype == Dtype.BF16
                        ? manager.create(widenBf16(manager, data), new Shape(e.shape), DataType.FLOAT32)
                        : manager.create(data, new Shape(e.shape), e.dtype.djl);
                array.setName(e.key);
                arrays.put(e.key, array);
            }
        } catch (IOException | RuntimeException e) {
            arrays.values().forEach(NDArray::close);
            throw e;
        }
        return arrays;
    }

    /**
     * Reads only the {@code __metadata__} string map of a safetensors file (validating the whole header).
     *
     * @param file the file
     * @return the metadata, empty if the file has none
     * @throws WeightsFormatException if the file violates the format
     * @throws IOException            if the file cannot be read
     */
    public static Map<String, String> readMetadata(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            return readHeader(channel, file).metadata;
        }
    }

    /**
     * Writes tensors as a safetensors file, all or nothing (temporary file in the same directory, then an
     * atomic rename).
     *
     * @param file     the file to create or replace
     * @param arrays   tensors by name; the arrays' own names are ignored
     * @param metadata free-form string map stored as {@code __metadata__}; null or empty writes none
     * @throws IOException if writing fails; an existing {@code file} is then left unchanged
     */
    public static void write(Path file, Map<String, NDArray> arrays, Map<String, String> metadata)
            throws IOException {
        List<Map.Entry<String, NDArray>> ordered = new ArrayList<>(arrays.entrySet());
        Map<String, Dtype> dtypes = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : ordered) {
            if (e.getKey() == null || METADATA_KEY.equals(e.getKey())) {
                throw new IllegalArgumentException("invalid tensor name '" + e.getKey() + "'");
            }
            dtypes.put(e.getKey(), Dtype.of(e.getKey(), e.getValue().getDataType()));
        }
        ordered.sort(Comparator.<Map.Entry<String, NDArray>>comparingInt(e -> -dtypes.get(e.getKey()).ordinal())
                .thenComparing(Map.Entry::getKey, Safetensors::compareCodePoints));

        StringBuilder json = new StringBuilder("{");
        if (metadata != null && !metadata.isEmpty()) {
            json.append('"').append(METADATA_KEY).append("\":{");
            String sep = "";
            for (Map.Entry<String, String> m : new TreeMap<>(metadata).entrySet()) {
                if (m.getValue() == null) {
                    throw new IllegalArgumentException("metadata '" + m.getKey() + "' has a null value");
                }
                json.append(sep);
                appendString(json, m.getKey());
                json.append(':');
                appendString(json, m.getValue());
                sep = ",";
            }
            json.append('}');
            if (!ordered.isEmpty()) {
                json.append(',');
            }
        }
        long offset = 0;
        String sep = "";
        for (Map.Entry<String, NDArray> e : ordered) {
            NDArray array = e.getValue();
            long bytes = array.getShape().size() * array.getDataType().getNumOfBytes();
            json.append(sep);
            appendString(json, e.getKey());
            json.append(":{\"dtype\":\"").append(dtypes.get(e.getKey()).name()).append("\",\"shape\":[");
            long[] dims = array.getShape().getShape();
            for (int i = 0; i < dims.length; i++) {
                json.append(i == 0 ? "" : ",").append(dims[i]);
            }
            json.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
            sep = ",";
        }
        json.append('}');
        byte[] headerJson = json.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (headerJson.length + 7) / 8 * 8;
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(headerJson);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();

        AtomicFiles.write(file, channel -> {
            writeFully(channel, head);
            for (Map.Entry<String, NDArray> e : ordered) {
                ByteBuffer data = e.getValue().toByteBuffer();
                long expected = e.getValue().getShape().size() * e.getValue().getDataType().getNumOfBytes();
                if (data.remaining() != expected) {
                    throw new IllegalStateException("tensor '" + e.getKey() + "': engine returned "
                            + data.remaining() + " bytes, expected " + expected);
                }
                writeFully(channel, data);
            }
        });
    }

    /** bfloat16 is the upper half of a float32, so widening is exact. */
    private static ByteBuffer widenBf16(NDManager manager, ByteBuffer bf16) {
        ByteBuffer in = bf16.order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer out = manager.allocateDirect(in.remaining() * 2).order(ByteOrder.LITTLE_ENDIAN);
        while (in.hasRemaining()) {
            out.putInt(Short.toUnsignedInt(in.getShort()) << 16);
        }
        return out.rewind();
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /** Rust's {@code str} order: by Unicode code point (Java's {@code compareTo} uses UTF-16 units). */
    private static int compareCodePoints(String a, String b) {
        return Arrays.compare(a.codePoints().toArray(), b.codePoints().toArray());
    }

    /** A JSON string as serde_json writes it: only quote, backslash and control characters escaped. */
    private static void appendString(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    private static Header readHeader(FileChannel channel, Path file) throws IOException {
        long size = channel.size();
        if (size < 8) {
            throw new WeightsFormatException(file, "only " + size + " bytes, shorter than the 8-byte header length");
        }
        ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(channel, lengthBytes, 0, file);
        long n = lengthBytes.flip().getLong();
        if (n < 0 || n > MAX_HEADER_BYTES) {
            throw new WeightsFormatException(file, "header length " + Long.toUnsignedString(n)
                    + " exceeds the limit of " + MAX_HEADER_BYTES + " bytes");
        }
        if (8 + n > size) {
            throw new WeightsFormatException(file, "header length " + n + " runs past the end of the "
                    + size + "-byte file (truncated?)");
        }
        ByteBuffer headerBytes = ByteBuffer.allocate((int) n);
        readFully(channel, headerBytes, 8, file);
        String text;
        try {
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(headerBytes.flip());
            text = chars.toString();
        } catch (CharacterCodingException e) {
            throw new WeightsFormatException(file, "header is not valid UTF-8", e);
        }
        if (!text.startsWith("{")) {
            throw new WeightsFormatException(file, "header does not start with '{'");
        }
        Header header;
        try {
            header = parseHeader(text, file, 8 + n);
        } catch (WeightsFormatException e) {
            throw e;
        } catch (IOException | IllegalStateException | NumberFormatException e) {
            throw new WeightsFormatException(file, "header is not valid safetensors JSON: " + e.getMessage(), e);
        }
        validateLayout(header.entries, size - 8 - n, file);
        return header;
    }

    private static Header parseHeader(String text, Path file, long dataStart) throws IOException {
        JsonReader json = new JsonReader(new StringReader(text));
        json.setStrictness(Strictness.STRICT);
        Map<String, String> metadata = new LinkedHashMap<>();
        List<Entry> entries = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        json.beginObject();
        while (json.hasNext()) {
            String key = json.nextName();
            if (!seen.add(key)) {
                throw new WeightsFormatException(file, "key '" + key + "' appears twice in the header");
            }
            if (METADATA_KEY.equals(key)) {
                if (json.peek() == JsonToken.NULL) {
                    json.nextNull();
                    continue;
                }
                json.beginObject();
                while (json.hasNext()) {
                    String name = json.nextName();
                    if (json.peek() != JsonToken.STRING) {
                        throw new WeightsFormatException(file, "__metadata__ value of '" + name + "' is not a string");
                    }
                    metadata.put(name, json.nextString());
                }
                json.endObject();
            } else {
                entries.add(parseEntry(json, key, file));
            }
        }
        json.endObject();
        if (json.peek() != JsonToken.END_DOCUMENT) {
            throw new WeightsFormatException(file, "data after the header's JSON object");
        }
        return new Header(metadata, entries, dataStart);
    }

    private static Entry parseEntry(JsonReader json, String key, Path file) throws IOException {
        String dtype = null;
        long[] shape = null;
        long[] offsets = null;
        json.beginObject();
        while (json.hasNext()) {
            switch (json.nextName()) {
                case "dtype" -> dtype = json.nextString();
                case "shape" -> shape = longArray(json, key, "shape", file);
                case "data_offsets" -> offsets = longArray(json, key, "data_offsets", file);
                default -> json.skipValue();
            }
        }
        json.endObject();
        if (dtype == null || shape == null || offsets == null) {
            throw new WeightsFormatException(file, "tensor '" + key + "': needs dtype, shape and data_offsets");
        }
        Dtype type;
        try {
            type = Dtype.valueOf(dtype);
        } catch (IllegalArgumentException e) {
            throw new WeightsFormatException(file, "tensor '" + key + "': unsupported dtype '" + dtype
                    + "' (supported: " + Arrays.toString(Dtype.values()) + ")");
        }
        if (offsets.length != 2 || offsets[1] < offsets[0]) {
            throw new WeightsFormatException(file, "tensor '" + key + "': data_offsets " + Arrays.toString(offsets)
                    + " is not a [begin, end] pair with begin <= end");
        }
        long bytes;
        try {
            long elements = 1;
            for (long d : shape) {
                elements = Math.multiplyExact(elements, d);
            }
            bytes = Math.multiplyExact(elements, (long) type.djl.getNumOfBytes());
        } catch (ArithmeticException e) {
            throw new WeightsFormatException(file, "tensor '" + key + "': shape " + Arrays.toString(shape)
                    + " overflows");
        }
        if (offsets[1] - offsets[0] != bytes) {
            throw new WeightsFormatException(file, "tensor '" + key + "': data_offsets " + Arrays.toString(offsets)
                    + " span " + (offsets[1] - offsets[0]) + " bytes but " + dtype + " " + Arrays.toString(shape)
                    + " needs " + bytes);
        }
        return new Entry(key, type, shape, offsets[0], offsets[1]);
    }

    private static long[] longArray(JsonReader json, String key, String field, Path file) throws IOException {
        List<Long> values = new ArrayList<>();
        json.beginArray();
        while (json.hasNext()) {
            long v = json.nextLong();
            if (v < 0) {
                throw new WeightsFormatException(file, "tensor '" + key + "': negative value in " + field);
            }
            values.add(v);
        }
        json.endArray();
        return values.stream().mapToLong(Long::longValue).toArray();
    }

    /** The tensors must tile the data section exactly, as the reference's validation demands. */
    private static void validateLayout(List<Entry> entries, long dataBytes, Path file) throws WeightsFormatException {
        entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expected = 0;
        String previous = null;
        for (Entry e : entries) {
            if (e.end > dataBytes) {
                throw new WeightsFormatException(file, "tensor '" + e.key + "': data_offsets [" + e.begin + ", "
                        + e.end + "] reach past the " + dataBytes + "-byte data section (truncated?)");
            }
            if (e.begin < expected) {
                throw new WeightsFormatException(file, "tensor '" + e.key + "': data_offsets [" + e.begin + ", "
                        + e.end + "] overlap tensor '" + previous + "' ending at " + expected);
            }
            if (e.begin > expected) {
                throw new WeightsFormatException(file, "tensor '" + e.key + "': data_offsets [" + e.begin + ", "
                        + e.end + "] leave a gap after byte " + expected);
            }
            expected = e.end;
            previous = e.key;
        }
        if (expected != dataBytes) {
            throw new WeightsFormatException(file, "data section has " + dataBytes + " bytes but the tensors cover "
                    + expected + " (extra bytes at the end)");
        }
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position, Path file)
            throws IOException {
        long p = position;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, p);
            if (n < 0) {
                throw new WeightsFormatException(file, "unexpected end of file at byte " + p);
            }
            p += n;
        }
    }
}
