package io.hicmae.runtime.io;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

/**
 * Reads and writes numpy {@code .npz} archives (what {@code np.savez} writes: an uncompressed zip of
 * {@code <key>.npy} entries), keyed by the authors' state-dict names.
 *
 * <p>Own implementation rather than {@code NDList.encode(NPZ)}/{@code NDList.decode}: DJL names entries
 * after {@link NDArray#getName()} (so writing would rename the caller's arrays) and decodes from a zip
 * stream, which cannot notice an archive cut off between two entries. Reading here goes through the
 * zip's central directory and checks every {@code .npy} header and byte count.
 *
 * <p>Supported dtypes: float16/32/64, int8/32/64, uint8, bool; little-endian, C order.
 */
public final class Npz {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int ALIGN = 64;
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    private Npz() {
    }

    /**
     * Reads every array of an {@code .npz} file.
     *
     * @param manager manager that owns the new arrays
     * @param file    the archive
     * @return arrays in file order, keyed (and {@link NDArray#getName() named}) by the entry name without
     *     {@code .npy}
     * @throws WeightsFormatException if the file is not a readable npz archive of supported arrays
     * @throws IOException            if the file cannot be read
     */
    public static Map<String, NDArray> read(NDManager manager, Path file) throws IOException {
        Map<String, NDArray> arrays = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            Enumeration<? extends ZipEntry> entries = zip.entries();
            while (entries.hasMoreElements()) {
                ZipEntry entry = entries.nextElement();
                String name = entry.getName();
                if (!name.endsWith(".npy")) {
                    throw new WeightsFormatException(file, "entry '" + name + "' is not a .npy array");
                }
                String key = name.substring(0, name.length() - 4);
                try (InputStream in = zip.getInputStream(entry)) {
                    NDArray array = readNpy(manager, in, file, key);
                    array.setName(key);
                    arrays.put(key, array);
                } catch (ZipException e) {
                    throw new WeightsFormatException(file, "array '" + key + "': " + e.getMessage(), e);
                }
            }
        } catch (ZipException e) {
            arrays.values().forEach(NDArray::close);
            throw new WeightsFormatException(file, "not a readable zip archive (" + e.getMessage() + ")", e);
        } catch (IOException | RuntimeException e) {
            arrays.values().forEach(NDArray::close);
            throw e;
        }
        return arrays;
    }

    /**
     * Writes arrays as an {@code .npz} archive readable by {@code numpy.load}, all or nothing (temporary
     * file in the same directory, then an atomic rename).
     *
     * @param file   the archive to create or replace
     * @param arrays arrays by key, written in iteration order; the arrays' own names are ignored
     * @throws IOException if writing fails; an existing {@code file} is then left unchanged
     */
    public static void write(Path file, Map<String, NDArray> arrays) throws IOException {
        for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
            if (e.getKey() == null || e.getKey().isEmpty()) {
                throw new IllegalArgumentException("array keys must be non-empty, got '" + e.getKey() + "'");
            }
            descr(e.getKey(), e.getValue().getDataType());
        }
        AtomicFiles.write(file, channel -> {
            OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
            ZipOutputStream zip = new ZipOutputStream(out, StandardCharsets.UTF_8);
            for (Map.Entry<String, NDArray> e : arrays.entrySet()) {
                writeEntry(zip, e.getKey(), e.getValue());
            }
            zip.finish();
            out.flush();
        });
    }

    private static void writeEntry(ZipOutputStream zip, String key, NDArray array) throws IOException {
        byte[] header = npyHeader(key, array);
        ByteBuffer data = array.toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        CRC32 crc = new CRC32();
        crc.update(header);
        crc.update(data.duplicate());
        ZipEntry entry = new ZipEntry(key + ".npy");
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(header.length + (long) data.remaining());
        entry.setCompressedSize(entry.getSize());
        entry.setCrc(crc.getValue());
        zip.putNextEntry(entry);
        zip.write(header);
        byte[] chunk = new byte[Math.min(data.remaining(), 1 << 20)];
        while (data.hasRemaining()) {
            int n = Math.min(chunk.length, data.remaining());
            data.get(chunk, 0, n);
            zip.write(chunk, 0, n);
        }
        zip.closeEntry();
    }

    /** Format 1.0 header: magic, version, u16 length, dict literal padded so the data is 64-byte aligned. */
    private static byte[] npyHeader(String key, NDArray array) {
        long[] dims = array.getShape().getShape();
        StringBuilder shape = new StringBuilder("(");
        for (int i = 0; i < dims.length; i++) {
            shape.append(i == 0 ? "" : ", ").append(dims[i]);
        }
        shape.append(dims.length == 1 ? ",)" : ")");
        String dict = "{'descr': '" + descr(key, array.getDataType()) + "', 'fortran_order': False, 'shape': "
                + shape + ", }";
        int preamble = MAGIC.length + 4;
        int total = (preamble + dict.length() + 1 + ALIGN - 1) / ALIGN * ALIGN;
        int headerLength = total - preamble;
        if (headerLength > 0xFFFF) {
            throw new IllegalArgumentException("array '" + key + "': shape " + array.getShape()
                    + " is too long for an .npy 1.0 header");
        }
        ByteBuffer b = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) headerLength);
        b.put(dict.getBytes(StandardCharsets.US_ASCII));
        while (b.position() < total - 1) {
            b.put((byte) ' ');
        }
        b.put((byte) '\n');
        return b.array();
    }

    private static String descr(String key, DataType type) {
        return switch (type) {
            case FLOAT16 -> "<f2";
            case FLOAT32 -> "<f4";
            case FLOAT64 -> "<f8";
            case INT8 -> "|i1";
            case INT32 -> "<i4";
            case INT64 -> "<i8";
            case UINT8 -> "|u1";
            case BOOLEAN -> "|b1";
            default -> throw new IllegalArgumentException("array '" + key + "': dtype " + type
                    + " cannot be written to npz");
        };
    }

    private static DataType fromDescr(String descr) {
        return switch (descr) {
            case "<f2" -> DataType.FLOAT16;
            case "<f4" -> DataType.FLOAT32;
            case "<f8" -> DataType.FLOAT64;
            case "|i1", "<i1" -> DataType.INT8;
            case "<i4" -> DataType.INT32;
            case "<i8" -> DataType.INT64;
            case "|u1", "<u1" -> DataType.UINT8;
            case "|b1", "<b1" -> DataType.BOOLEAN;
            default -> null;
        };
    }

    private static NDArray readNpy(NDManager manager, InputStream in, Path file, String key) throws IOException {
        byte[] preamble = in.readNBytes(MAGIC.length + 2);
        if (preamble.length < MAGIC.length + 2) {
            throw new WeightsFormatException(file, "array '" + key + "': truncated .npy header");
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (preamble[i] != MAGIC[i]) {
                throw new WeightsFormatException(file, "array '" + key + "': missing .npy magic string");
            }
        }
        int major = preamble[MAGIC.length];
        if (major < 1 || major > 3) {
            throw new WeightsFormatException(file, "array '" + key + "': unsupported .npy version " + major);
        }
        byte[] lengthBytes = in.readNBytes(major == 1 ? 2 : 4);
        if (lengthBytes.length < (major == 1 ? 2 : 4)) {
            throw new WeightsFormatException(file, "array '" + key + "': truncated .npy header");
        }
        ByteBuffer lb = ByteBuffer.wrap(lengthBytes).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength = major == 1 ? Short.toUnsignedInt(lb.getShort()) : Integer.toUnsignedLong(lb.getInt());
        if (headerLength > 1 << 20) {
            throw new WeightsFormatException(file, "array '" + key + "': .npy header length " + headerLength
                    + " is implausible");
        }
        byte[] headerBytes = in.readNBytes((int) headerLength);
        if (headerBytes.length < headerLength) {
            throw new WeightsFormatException(file, "array '" + key + "': truncated .npy header");
        }
        String header = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher descr = DESCR.matcher(header);
        Matcher fortran = FORTRAN.matcher(header);
        Matcher shapeMatch = SHAPE.matcher(header);
        if (!descr.find() || !fortran.find() || !shapeMatch.find()) {
            throw new WeightsFormatException(file, "array '" + key + "': malformed .npy header " + header.trim());
        }
        DataType type = fromDescr(descr.group(1));
        if (type == null) {
            throw new WeightsFormatException(file, "array '" + key + "': unsupported dtype '" + descr.group(1)
                    + "' (supported: little-endian f2, f4, f8, i1, i4, i8, u1, b1)");
        }
        if ("True".equals(fortran.group(1))) {
            throw new WeightsFormatException(file, "array '" + key + "': Fortran-ordered arrays are not supported");
        }
        Shape shape = parseShape(shapeMatch.group(1), file, key);
        long bytes;
        try {
            bytes = Math.multiplyExact(shape.size(), (long) type.getNumOfBytes());
        } catch (ArithmeticException e) {
            throw new WeightsFormatException(file, "array '" + key + "': shape " + shape + " overflows");
        }
        if (bytes > Integer.MAX_VALUE) {
            throw new WeightsFormatException(file, "array '" + key + "': " + bytes
                    + " bytes exceed the 2 GiB limit of one array");
        }
        ByteBuffer data = manager.allocateDirect((int) bytes);
        byte[] chunk = new byte[(int) Math.min(bytes, 1 << 20)];
        while (data.hasRemaining()) {
            int n = in.readNBytes(chunk, 0, Math.min(chunk.length, data.remaining()));
            if (n == 0) {
                throw new WeightsFormatException(file, "array '" + key + "': truncated data, expected " + bytes
                        + " bytes for shape " + shape + " " + descr.group(1) + ", found " + data.position());
            }
            data.put(chunk, 0, n);
        }
        if (in.read() != -1) {
            throw new WeightsFormatException(file, "array '" + key + "': data longer than shape " + shape + " "
                    + descr.group(1) + " allows");
        }
        data.rewind();
        return manager.create(data, shape, type);
    }

    private static Shape parseShape(String text, Path file, String key) throws WeightsFormatException {
        String trimmed = text.trim();
        if (trimmed.isEmpty()) {
            return new Shape();
        }
        String[] parts = trimmed.split(",");
        int count = parts[parts.length - 1].isBlank() ? parts.length - 1 : parts.length;
        long[] dims = new long[count];
        try {
            for (int i = 0; i < count; i++) {
                dims[i] = Long.parseLong(parts[i].trim().replace("L", ""));
                if (dims[i] < 0) {
                    throw new NumberFormatException("negative");
                }
            }
        } catch (NumberFormatException e) {
            throw new WeightsFormatException(file, "array '" + key + "': malformed shape (" + text + ")");
        }
        return new Shape(dims);
    }
}
