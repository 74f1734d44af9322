package io.hicmae.runtime.data;

import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClipIndexTest {

    private static final ClipGeometry G = ClipShardReaderTest.SMALL;
    /** About three clips per row group: a clip is 27,648 frame bytes and 20,960 pcm bytes of random data. */
    private static final long ROW_GROUP_BYTES = 140_000;
    private static final int[] CLIPS_PER_FILE = {7, 11, 5};
    private static final int CLIPS = 23;

    @TempDir
    static Path dir;
    private static ClipIndex index;

    @BeforeAll
    static void writeDataset() throws IOException {
        ClipFiles.dataset(dir, G, i -> ClipFiles.synthetic(G, i), CLIPS_PER_FILE, ROW_GROUP_BYTES);
        index = ClipIndex.build(dir.toUri().toString(), new Configuration());
    }

    @Test
    void indexesEveryRowOfEveryRowGroupFromTheFooters() {
        assertEquals(3, index.files().size());
        assertEquals(CLIPS, index.clipCount());
        assertTrue(index.rowGroupCount() >= 6, "several row groups per file, got " + index.rowGroupCount());
        int rows = 0;
        for (int g = 0; g < index.rowGroupCount(); g++) {
            rows += index.rowsOf(g);
        }
        assertEquals(CLIPS, rows);
    }

    @Test
    void everyClipGoesToExactlyOneRankPerEpochAndRanksGetEqualShares() {
        Set<Long> all = allPositions();
        for (int ranks : new int[] {1, 2, 3, 4}) {
            for (int epoch = 0; epoch < 3; epoch++) {
                Set<Long> served = new HashSet<>();
                for (int rank = 0; rank < ranks; rank++) {
                    long[] order = index.epochOrder(42, epoch, rank, ranks, 2);
                    assertEquals(CLIPS / ranks, order.length, "clips of rank " + rank + " of " + ranks);
                    for (long p : order) {
                        assertTrue(all.contains(p), "position " + p + " is not a clip");
                        assertTrue(served.add(p), "position " + p + " served twice in epoch " + epoch);
                    }
                }
                assertEquals(CLIPS - CLIPS % ranks, served.size(), "only the remainder is dropped");
            }
        }
    }

    @Test
    void aRestrictedIndexOrdersOnlyItsClipsAndTheFullSelectionChangesNothing() {
        long[] all = allPositions().stream().mapToLong(Long::longValue).toArray();
        ClipIndex same = index.restrict(all);
        assertArrayEquals(index.epochOrder(3, 1, 1, 3, 2), same.epochOrder(3, 1, 1, 3, 2));
        Arrays.sort(all);
        long[] odd = java.util.stream.IntStream.range(0, all.length).filter(i -> i % 2 == 1).mapToLong(i -> all[i])
                .toArray();
        Set<Long> selected = new HashSet<>();
        Arrays.stream(odd).forEach(selected::add);
        assertEquals(CLIPS / 2, odd.length);
        ClipIndex sub = index.restrict(odd);
        assertEquals(odd.length, sub.clipCount());
        Set<Long> served = new HashSet<>();
        for (int slot = 0; slot < 2; slot++) {
            for (long p : sub.epochOrder(3, 0, slot, 2, 2)) {
                assertTrue(selected.contains(p), "position " + p + " was not selected");
                assertTrue(served.add(p), "position " + p + " served twice");
            }
        }
        assertEquals(odd.length - odd.length % 2, served.size());
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> index.restrict(new long[] {odd[0], odd[0]}));
        assertTrue(e.getMessage().contains("twice"), e.getMessage());
    }

    @Test
    void anyRankCountDividingTheSlotsServesTheSameMicroBatches() {
        int slots = 4;
        int batch = 2;
        int steps = index.stepsPerEpoch(slots, batch); // floor(23 / 8) = 2
        long[] one = index.servingOrder(9, 1, 0, slots, slots, batch, 0, steps, 2);
        for (int ranks : new int[] {2, 4}) {
            int share = slots / ranks;
            long[][] perRank = new long[ranks][];
            for (int r = 0; r < ranks; r++) {
                perRank[r] = index.servingOrder(9, 1, r * share, share, slots, batch, 0, steps, 2);
            }
            for (int s = 0; s < steps; s++) {
                for (int j = 0; j < slots; j++) {
                    int r = j / share;
                    long[] expected = Arrays.copyOfRange(one, (s * slots + j) * batch, (s * slots + j + 1) * batch);
                    int at = (s * share + j % share) * batch;
                    assertArrayEquals(expected, Arrays.copyOfRange(perRank[r], at, at + batch),
                            "step " + s + " slot " + j + " on " + ranks + " ranks");
                }
            }
        }
        long[] resumed = index.servingOrder(9, 1, 0, slots, slots, batch, 1, steps, 2);
        assertArrayEquals(Arrays.copyOfRange(one, slots * batch, one.length), resumed, "planned from step 1");
    }

    @Test
    void stepsPerEpochAreFloorOfClipsOverRanksTimesBatch() {
        assertEquals(5, index.stepsPerEpoch(2, 2)); // floor(23 / 4)
        assertEquals(3, index.stepsPerEpoch(3, 2)); // floor(23 / 6)
        assertEquals(23, index.stepsPerEpoch(1, 1));
        assertEquals(0, index.stepsPerEpoch(4, 8));
    }

    @Test
    void orderIsDeterministicPerSeedAndEpochAndChangesAcrossEpochs() {
        long[] a = index.epochOrder(7, 3, 1, 2, 2);
        assertArrayEquals(a, index.epochOrder(7, 3, 1, 2, 2));
        assertFalse(Arrays.equals(a, index.epochOrder(7, 4, 1, 2, 2)), "epoch 4 repeats epoch 3");
        assertFalse(Arrays.equals(a, index.epochOrder(8, 3, 1, 2, 2)), "seed 8 repeats seed 7");
    }

    @Test
    void droppedRemainderDiffersAcrossEpochs() {
        Set<Set<Long>> dropped = new HashSet<>();
        for (int epoch = 0; epoch < 6; epoch++) {
            Set<Long> left = allPositions();
            for (int rank = 0; rank < 4; rank++) {
                for (long p : index.epochOrder(1, epoch, rank, 4, 2)) {
                    left.remove(p);
                }
            }
            assertEquals(CLIPS % 4, left.size());
            dropped.add(left);
        }
        assertTrue(dropped.size() > 1, "the same clips are dropped every epoch: " + dropped);
    }

    @Test
    void aShuffleWindowOfOneRowGroupKeepsEachRowGroupContiguous() {
        long[] order = index.epochOrder(5, 0, 0, 1, 1);
        Set<Integer> finished = new HashSet<>();
        for (int i = 1; i < order.length; i++) {
            int previous = ClipIndex.rowGroupOf(order[i - 1]);
            int g = ClipIndex.rowGroupOf(order[i]);
            if (g != previous) {
                assertTrue(finished.add(previous), "row group " + previous + " is read twice");
            }
            assertFalse(finished.contains(g), "row group " + g + " comes back after it was finished");
        }
    }

    private static Set<Long> allPositions() {
        Set<Long> all = new HashSet<>();
        for (int g = 0; g < index.rowGroupCount(); g++) {
            for (int r = 0; r < index.rowsOf(g); r++) {
                all.add(ClipIndex.position(g, r));
            }
        }
        return all;
    }
}
