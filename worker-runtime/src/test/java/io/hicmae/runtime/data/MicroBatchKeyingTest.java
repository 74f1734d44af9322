package io.hicmae.runtime.data;

import io.hicmae.runtime.config.HicmaeConfig;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The loader's micro-batches follow the slot, not the rank: a step of 4 slots is served identically (clips, crops,
 * gain, masks) by 1 rank running all 4, 2 ranks running 2 each, or 4 ranks running 1, also after a seek.
 */
class MicroBatchKeyingTest {

    private static final HicmaeConfig TINY = HicmaeConfig.tiny();
    private static final ClipGeometry G = ClipShardReaderTest.SMALL;
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final int SLOTS = 4;
    private static final int BATCH = 2;

    @TempDir
    static Path dir;
    private static Configuration conf;
    private static ClipIndex index;

    @BeforeAll
    static void writeDataset() throws IOException {
        ClipFiles.dataset(dir, G, i -> ClipFiles.synthetic(G, i), new int[] {9, 10}, 140_000);
        conf = new Configuration();
        index = ClipIndex.build(dir.toUri().toString(), conf);
    }

    /** Micro-batches of steps [from, from + steps) by (step, slot), as {@code ranks} ranks serve them. */
    private static HostBatch[][] served(int ranks, int epoch, int from, int steps) throws IOException {
        HostBatch[][] out = new HostBatch[steps][SLOTS];
        int share = SLOTS / ranks;
        for (int r = 0; r < ranks; r++) {
            try (PrefetchingLoader l = new PrefetchingLoader(index, TINY,
                    new LoaderOptions(r, ranks, SLOTS, BATCH, 5, 2, 2, G), conf)) {
                assertEquals(2, l.stepsPerEpoch(), "floor(19 / (4 x 2))");
                l.seek(epoch, from);
                for (int s = 0; s < steps; s++) {
                    for (int k = 0; k < share; k++) {
                        out[s][r * share + k] = l.next(WAIT);
                    }
                }
            }
        }
        return out;
    }

    @Test
    void everyDividingRankCountServesTheSameMicroBatches() throws IOException {
        HostBatch[][] one = served(1, 0, 0, 3); // epoch 0 steps 0-1, then epoch 1 step 0
        for (int ranks : new int[] {2, 4}) {
            assertSame(one, served(ranks, 0, 0, 3), ranks + " ranks");
        }
        HostBatch[][] resumed = served(2, 0, 1, 2);
        assertSame(new HostBatch[][] {one[1], one[2]}, resumed, "2 ranks resumed at step 1");
        List<String> ids = new ArrayList<>();
        for (HostBatch b : one[0]) {
            ids.addAll(b.clipIds());
        }
        assertEquals(ids.size(), ids.stream().distinct().count(), "a step's micro-batches are disjoint: " + ids);
    }

    @Test
    void aRankCountThatDoesNotDivideTheSlotsIsRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new LoaderOptions(0, 3, SLOTS, BATCH, 5, 2, 2, G));
        assertTrue(e.getMessage().contains("must divide the 4 micro-batches"), e.getMessage());
    }

    private static void assertSame(HostBatch[][] expected, HostBatch[][] actual, String what) {
        assertEquals(expected.length, actual.length);
        for (int s = 0; s < expected.length; s++) {
            for (int j = 0; j < SLOTS; j++) {
                HostBatch e = expected[s][j];
                HostBatch a = actual[s][j];
                String at = what + ", step " + s + " slot " + j;
                assertEquals(e.clipIds(), a.clipIds(), at);
                assertArrayEquals(e.video(), a.video(), at);
                assertArrayEquals(e.audio(), a.audio(), at);
                assertArrayEquals(e.videoMasks(), a.videoMasks(), at);
                assertArrayEquals(e.audioMasks(), a.audioMasks(), at);
            }
        }
    }
}
