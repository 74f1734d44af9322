package io.hicmae.runtime.data;

import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * Reads clips by {@link ClipIndex} position for a planned sequence: {@link #plan} takes the positions in the order
 * they will be asked for; {@link #get} loads a row group (only the planned rows of it) on the first clip that needs
 * it and drops it after the last, so memory holds the row groups of about one shuffle window. Keeps the last shard
 * open. One thread reads; {@link #reading()} may be asked from any (for timeout messages).
 */
public final class PlannedClipReader implements AutoCloseable {

    private final ClipIndex index;
    private final Configuration conf;
    private final ClipGeometry geometry;
    private final Map<Integer, StoredClip[]> loaded = new HashMap<>();
    private final Map<Integer, BitSet> wanted = new HashMap<>();
    private final Map<Integer, Integer> lastUse = new HashMap<>();
    private long[] order = new long[0];
    private ClipShardReader reader;
    private volatile String reading;

    /** @param geometry the stored clips' shape, checked on every row read */
    public PlannedClipReader(ClipIndex index, Configuration conf, ClipGeometry geometry) {
        this.index = index;
        this.conf = conf;
        this.geometry = geometry;
    }

    /** Serves {@code positions} next, in this order; drops what was loaded. */
    public void plan(long[] positions) {
        this.order = positions.clone();
        loaded.clear();
        wanted.clear();
        lastUse.clear();
        for (int i = 0; i < order.length; i++) {
            int g = ClipIndex.rowGroupOf(order[i]);
            wanted.computeIfAbsent(g, k -> new BitSet()).set(ClipIndex.rowOf(order[i]));
            lastUse.put(g, i);
        }
    }

    /** The file and row group being read, or null between reads. */
    public String reading() {
        return reading;
    }

    /** The i-th planned clip. */
    public StoredClip get(int i) throws IOException {
        int g = ClipIndex.rowGroupOf(order[i]);
        StoredClip[] rows = loaded.get(g);
        if (rows == null) {
            rows = load(g);
            loaded.put(g, rows);
        }
        if (lastUse.get(g) == i) {
            loaded.remove(g);
        }
        StoredClip c = rows[ClipIndex.rowOf(order[i])];
        if (c == null) {
            throw new IllegalStateException("position " + order[i] + " was not planned");
        }
        return c;
    }

    private StoredClip[] load(int g) throws IOException {
        String file = index.fileOf(g);
        int block = index.blockOf(g);
        reading = file + " row group " + block;
        try {
            if (reader == null || !reader.file().equals(file)) {
                close();
                reader = ClipShardReader.open(file, conf, geometry);
            }
            if (block >= reader.rowGroupCount() || reader.rowCount(block) != index.rowsOf(g)) {
                throw new ClipFormatException(file, "row group " + block + " differs from the index ("
                        + index.rowsOf(g) + " rows); the dataset changed after the index was built");
            }
            StoredClip[] rows = new StoredClip[index.rowsOf(g)];
            reader.readRowGroup(block, wanted.get(g)::get, (r, clip) -> rows[r] = clip);
            return rows;
        } catch (ClipFormatException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + ": reading row group " + block + " failed: " + e, e);
        } finally {
            reading = null;
        }
    }

    @Override
    public void close() throws IOException {
        if (reader != null) {
            ClipShardReader r = reader;
            reader = null;
            r.close();
        }
    }
}
