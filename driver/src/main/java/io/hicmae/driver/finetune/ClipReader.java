package io.hicmae.driver.finetune;

import io.hicmae.runtime.data.ClipFormatException;
import io.hicmae.runtime.data.ClipGeometry;
import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.runtime.data.ClipShardReader;
import io.hicmae.runtime.data.StoredClip;
import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads clips by position for a planned sequence: {@link #plan} takes the positions in the order they will be asked
 * for; {@link #get} loads a row group (only the planned rows of it) on the first clip that needs it and drops it
 * after the last, so memory holds the row groups of about one shuffle window. Keeps the last shard open. One thread.
 */
final class ClipReader implements AutoCloseable {

    private final ClipIndex index;
    private final Configuration conf;
    private final Map<Integer, StoredClip[]> loaded = new HashMap<>();
    private final Map<Integer, BitSet> wanted = new HashMap<>();
    private final Map<Integer, Integer> lastUse = new HashMap<>();
    private long[] order = new long[0];
    private ClipShardReader reader;

    ClipReader(ClipIndex index, Configuration conf) {
        this.index = index;
        this.conf = conf;
    }

    /** Serves {@code positions} next, in this order. */
    void plan(long[] positions) {
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

    /** The planned positions of {@code entries}, in order. */
    static long[] positions(List<ClipEntry> entries) {
        return entries.stream().mapToLong(ClipEntry::position).toArray();
    }

    /** The i-th planned clip. */
    StoredClip get(int i) throws IOException {
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
        try {
            if (reader == null || !reader.file().equals(file)) {
                close();
                reader = ClipShardReader.open(file, conf, ClipGeometry.STORED);
            }
            if (block >= reader.rowGroupCount() || reader.rowCount(block) != index.rowsOf(g)) {
                throw new ClipFormatException(file, "row group " + block + " differs from the index ("
                        + index.rowsOf(g) + " rows); the dataset changed after the run was planned");
            }
            StoredClip[] rows = new StoredClip[index.rowsOf(g)];
            reader.readRowGroup(block, wanted.get(g)::get, (r, clip) -> rows[r] = clip);
            return rows;
        } catch (ClipFormatException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + ": reading row group " + block + " failed: " + e, e);
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
