package io.hicmae.runtime.data;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PlannedClipReaderTest {

    private static final ClipGeometry G = ClipShardReaderTest.SMALL;

    @TempDir
    Path dir;

    @Test
    void servesPlannedClipsInAnyOrderAcrossFilesAndRowGroups() throws Exception {
        ClipFiles.dataset(dir, G, i -> ClipFiles.synthetic(G, i), new int[] {7, 5}, 140_000);
        Configuration conf = new Configuration();
        ClipIndex index = ClipIndex.build(dir.toUri().toString(), conf);
        // Clip k of the dataset is at the k-th position in (row group, row) order.
        long[] all = new long[12];
        int k = 0;
        for (int g = 0; g < index.rowGroupCount(); g++) {
            for (int r = 0; r < index.rowsOf(g); r++) {
                all[k++] = ClipIndex.position(g, r);
            }
        }
        int[] wanted = {11, 0, 5, 6, 1, 10};
        long[] plan = new long[wanted.length];
        for (int i = 0; i < wanted.length; i++) {
            plan[i] = all[wanted[i]];
        }
        try (PlannedClipReader reader = new PlannedClipReader(index, conf, G)) {
            reader.plan(plan);
            for (int i = 0; i < wanted.length; i++) {
                StoredClip c = reader.get(i);
                StoredClip expected = ClipFiles.synthetic(G, wanted[i]);
                assertEquals(expected.clipId(), c.clipId());
                assertArrayEquals(expected.frames(), c.frames());
            }
            assertNull(reader.reading(), "nothing is being read between calls");
            reader.plan(new long[] {all[3]});
            assertEquals(ClipFiles.id(3), reader.get(0).clipId());
            assertThrows(ArrayIndexOutOfBoundsException.class, () -> reader.get(1));
        }
    }
}
