package io.hicmae.driver.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32C;

/**
 * Writes a run's scalars as a TensorBoard event file, {@code <dir>/<run id>/events.out.tfevents.<seconds>.<host>}
 * (any Hadoop FileSystem; flushed after every step): TFRecord framing (little-endian length, masked CRC32C of the
 * length, the record, masked CRC32C of the record) around {@code Event} protobuf messages encoded here by hand: first
 * {@code file_version "brain.Event:2"}, then one {@code Event{wall_time, step, summary{value{tag, simple_value}}}} per
 * step with the same names as the metrics source. A failed write turns the writer off with a warning; it never fails
 * the job.
 */
public final class TensorBoardWriter implements AutoCloseable {

    private static final Logger LOG = LogManager.getLogger(TensorBoardWriter.class);
    private static final int MASK_DELTA = 0xa282ead8;

    private final String where;
    private FSDataOutputStream out;

    private TensorBoardWriter(String where, FSDataOutputStream out) {
        this.where = where;
        this.out = out;
    }

    /** A writer for run {@code runId} under {@code dir}, or one that writes nothing when {@code dir} is null. */
    public static TensorBoardWriter open(String dir, String runId, Configuration conf) throws IOException {
        if (dir == null) {
            return new TensorBoardWriter(null, null);
        }
        URI base = dir.contains(":") ? URI.create(dir) : new java.io.File(dir).getAbsoluteFile().toURI();
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "localhost";
        }
        Path file = new Path(new Path(new Path(base), runId),
                "events.out.tfevents." + System.currentTimeMillis() / 1000 + "." + host);
        FileSystem fs = file.getFileSystem(conf);
        if (fs instanceof org.apache.hadoop.fs.ChecksumFileSystem cfs) {
            fs = cfs.getRawFileSystem(); // no .crc side file: TensorBoard would take it for an event file
        }
        TensorBoardWriter w = new TensorBoardWriter(file.toString(), fs.create(file, false));
        w.record(event(System.currentTimeMillis() / 1000.0, 0, 3, "brain.Event:2".getBytes(StandardCharsets.UTF_8)));
        w.flush();
        LOG.info("TensorBoard events of run {} go to {}", runId, file);
        return w;
    }

    /** One step's scalars (NaN and infinities are left out). */
    public synchronized void write(Map<String, Double> scalars, long step) {
        if (out == null || scalars.isEmpty()) {
            return;
        }
        ByteArrayOutputStream summary = new ByteArrayOutputStream();
        for (Map.Entry<String, Double> e : new TreeMap<>(scalars).entrySet()) {
            if (e.getValue() == null || !Double.isFinite(e.getValue())) {
                continue;
            }
            ByteArrayOutputStream value = new ByteArrayOutputStream();
            bytesField(value, 1, e.getKey().getBytes(StandardCharsets.UTF_8)); // tag
            value.write(2 << 3 | 5); // simple_value, fixed32
            value.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                    .putFloat(e.getValue().floatValue()).array());
            bytesField(summary, 1, value.toByteArray()); // Summary.value
        }
        record(event(System.currentTimeMillis() / 1000.0, step, 5, summary.toByteArray()));
        flush();
    }

    /** An Event: wall_time (1, double), step (2, int64) and one length-delimited field of the {@code what} oneof. */
    static byte[] event(double wallTime, long step, int field, byte[] payload) {
        ByteArrayOutputStream e = new ByteArrayOutputStream();
        e.write(1 << 3 | 1);
        e.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putDouble(wallTime).array());
        if (step != 0) {
            e.write(2 << 3);
            varint(e, step);
        }
        bytesField(e, field, payload);
        return e.toByteArray();
    }

    private static void bytesField(ByteArrayOutputStream out, int field, byte[] bytes) {
        out.write(field << 3 | 2);
        varint(out, bytes.length);
        out.writeBytes(bytes);
    }

    private static void varint(ByteArrayOutputStream out, long v) {
        while ((v & ~0x7FL) != 0) {
            out.write((int) (v & 0x7F) | 0x80);
            v >>>= 7;
        }
        out.write((int) v);
    }

    /** TFRecord's masked CRC32C. */
    static int maskedCrc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        int crc = (int) c.getValue();
        return ((crc >>> 15) | (crc << 17)) + MASK_DELTA;
    }

    private void record(byte[] data) {
        if (out == null) {
            return;
        }
        ByteBuffer header = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putLong(data.length);
        header.putInt(maskedCrc(header.array(), 0, 8));
        ByteBuffer footer = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN)
                .putInt(maskedCrc(data, 0, data.length));
        try {
            out.write(header.array());
            out.write(data);
            out.write(footer.array());
        } catch (IOException e) {
            fail(e);
        }
    }

    private void flush() {
        if (out == null) {
            return;
        }
        try {
            out.hflush();
        } catch (IOException e) {
            fail(e);
        }
    }

    private void fail(IOException e) {
        LOG.warn("TensorBoard events to {} stopped: {}", where, e.toString());
        try {
            out.close();
        } catch (IOException ignored) {
            LOG.debug("closing {}: {}", where, ignored.toString());
        }
        out = null;
    }

    @Override
    public synchronized void close() {
        if (out != null) {
            try {
                out.close();
            } catch (IOException e) {
                LOG.warn("closing TensorBoard events {}: {}", where, e.toString());
            }
            out = null;
        }
    }
}
