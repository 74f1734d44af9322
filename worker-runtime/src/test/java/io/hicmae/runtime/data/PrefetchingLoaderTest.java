package io.hicmae.runtime.data;

import io.hicmae.runtime.config.HicmaeConfig;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PrefetchingLoaderTest {

    private static final HicmaeConfig TINY = HicmaeConfig.tiny(); // 16 frames of 16x16, 64x32 fbank
    private static final ClipGeometry G = ClipShardReaderTest.SMALL; // 24x24 frames, 10,480 samples = 64 fbank frames
    private static final int[] CLIPS_PER_FILE = {7, 11, 5};
    private static final long ROW_GROUP_BYTES = 140_000; // about three clips
    private static final Duration WAIT = Duration.ofSeconds(30);

    @TempDir
    static Path dir;
    private static Configuration conf;
    private static ClipIndex index;

    @BeforeAll
    static void writeDataset() throws IOException {
        ClipFiles.dataset(dir.resolve("good"), G, i -> ClipFiles.synthetic(G, i), CLIPS_PER_FILE, ROW_GROUP_BYTES);
        conf = BlockingFileSystem.configuration();
        index = ClipIndex.build(dir.resolve("good").toUri().toString(), conf);
    }

    @AfterEach
    void disarm() {
        BlockingFileSystem.disarm();
    }

    private static PrefetchingLoader loader(ClipIndex index, int rank, int ranks, int batch, long seed) {
        return new PrefetchingLoader(index, TINY, new LoaderOptions(rank, ranks, batch, seed, 2, 2, G), conf);
    }

    private static List<HostBatch> take(PrefetchingLoader loader, int n) throws IOException {
        List<HostBatch> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(loader.next(WAIT));
        }
        return out;
    }

    @Test
    void servesEachRanksPlannedClipsOncePerEpoch() throws IOException {
        int ranks = 3;
        int batch = 2;
        int steps = index.stepsPerEpoch(ranks, batch); // floor(23 / 6) = 3
        assertEquals(3, steps);
        Set<String> served = new HashSet<>();
        for (int rank = 0; rank < ranks; rank++) {
            try (PrefetchingLoader l = loader(index, rank, ranks, batch, 9)) {
                assertEquals(steps, l.stepsPerEpoch());
                List<String> ids = new ArrayList<>();
                for (HostBatch b : take(l, steps)) {
                    assertEquals(batch, b.size());
                    ids.addAll(b.clipIds());
                }
                assertEquals(1, l.epoch(), "the loader moved on to epoch 1");
                long[] order = index.epochOrder(9, 0, rank, ranks, 2);
                for (int i = 0; i < ids.size(); i++) {
                    assertEquals(ClipFiles.id(clipNumber(order[i])), ids.get(i), "rank " + rank + " clip " + i);
                    assertTrue(served.add(ids.get(i)), ids.get(i) + " served twice");
                }
            }
        }
        assertEquals(ranks * steps * batch, served.size());
    }

    @Test
    void batchesHaveTheModelsGeometry() throws IOException {
        try (PrefetchingLoader l = loader(index, 0, 1, 3, 1)) {
            HostBatch b = l.next(WAIT);
            assertEquals(3 * 3 * 16 * 16 * 16, b.video().length);
            assertEquals(3 * 64 * 32, b.audio().length);
            assertEquals(TINY.videoMasked(), b.videoMasks()[0].maskedIndex().length);
            assertEquals(TINY.audioMasked(), b.audioMasks()[0].maskedIndex().length);
        }
    }

    @Test
    void resumingWithSeekGivesTheBatchesOfAnUninterruptedRun() throws IOException {
        List<HostBatch> straight;
        try (PrefetchingLoader l = loader(index, 1, 2, 2, 3)) {
            assertEquals(5, l.stepsPerEpoch());
            straight = take(l, 8); // epoch 0 steps 0-4, epoch 1 steps 0-2
        }
        try (PrefetchingLoader l = loader(index, 1, 2, 2, 3)) {
            l.seek(0, 3);
            assertSameBatches(straight.subList(3, 8), take(l, 5));
            l.seek(1, 1);
            assertSameBatches(straight.subList(6, 8), take(l, 2));
        }
    }

    @Test
    void epochsChangeTheOrderAndTheSameSeedRepeatsIt() throws IOException {
        try (PrefetchingLoader a = loader(index, 0, 1, 23, 4); PrefetchingLoader b = loader(index, 0, 1, 23, 4)) {
            HostBatch epoch0 = a.next(WAIT);
            HostBatch epoch1 = a.next(WAIT);
            assertEquals(Set.copyOf(epoch0.clipIds()), Set.copyOf(epoch1.clipIds()), "one rank, no remainder");
            assertNotEquals(epoch0.clipIds(), epoch1.clipIds());
            assertSameBatches(List.of(epoch0), List.of(b.next(WAIT)));
        }
    }

    @Test
    void aWrongShapeFieldFailsNextNamingTheFileAndRow() throws IOException {
        Path bad = dir.resolve("bad");
        ClipFiles.dataset(bad, G, i -> ClipFiles.synthetic(G, i), new int[] {4}, ROW_GROUP_BYTES);
        ClipFiles.write(bad.resolve("part-00001.zstd.parquet"), G, i -> ClipFiles.synthetic(G, i), 4, 4,
                1 << 20, 1, ClipSchema.WIDTH, 25);
        ClipIndex badIndex = ClipIndex.build(bad.toUri().toString(), conf);
        try (PrefetchingLoader l = loader(badIndex, 0, 1, 1, 1)) {
            IOException e = assertThrows(IOException.class, () -> take(l, l.stepsPerEpoch()));
            assertTrue(e.getMessage().contains("part-00001.zstd.parquet: row 1: width = 25, expected 24"),
                    e.getMessage());
            IOException again = assertThrows(IOException.class, () -> l.next(WAIT));
            assertEquals(e.getMessage(), again.getMessage(), "the failure stays until seek");
        }
    }

    @Test
    void aStalledReadTimesOutNamingTheFileAndCloseStillReturns() throws Exception {
        ClipIndex blocking = ClipIndex.build(dir.resolve("good").toUri().toString()
                .replaceFirst("^file:", BlockingFileSystem.SCHEME + ":"), conf);
        CountDownLatch entered = BlockingFileSystem.arm();
        PrefetchingLoader l = loader(blocking, 0, 1, 2, 1);
        IOException e = assertThrows(IOException.class, () -> l.next(Duration.ofMillis(200)));
        entered.await();
        String first = blocking.fileOf(ClipIndex.rowGroupOf(blocking.epochOrder(1, 0, 0, 1, 2)[0]));
        assertTrue(e.getMessage().contains("still reading " + first), e.getMessage());
        assertTrue(l.lastWait().toMillis() >= 200, "waited " + l.lastWait());
        assertTimeoutPreemptively(Duration.ofSeconds(2), l::close);
    }

    @Test
    void closeWhileTheQueueIsFullReturnsPromptly() throws Exception {
        PrefetchingLoader l = loader(index, 0, 1, 1, 1);
        l.next(WAIT);
        l.next(WAIT); // the thread keeps two batches ahead and then blocks on the full queue
        assertTimeoutPreemptively(Duration.ofSeconds(2), l::close);
        assertThrows(IllegalStateException.class, () -> l.next(WAIT));
    }

    @Test
    void rejectsAGeometryTheModelCannotTake() {
        ClipGeometry twelveFrames = new ClipGeometry(12, 24, 24, 3, 16_000, 10_480);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PrefetchingLoader(index,
                TINY, new LoaderOptions(0, 1, 2, 1, 2, 2, twelveFrames), conf));
        assertTrue(e.getMessage().contains("12 frames"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> loader(index, 0, 4, 8, 1));
        assertTrue(e.getMessage().contains("23 clips"), e.getMessage());
    }

    @Test
    void listingSkipsFilesThatAreNotData() throws IOException {
        assertEquals(List.of("part-00000.zstd.parquet", "part-00001.zstd.parquet", "part-00002.zstd.parquet"),
                index.files().stream().map(f -> f.substring(f.lastIndexOf('/') + 1)).toList());
        assertTrue(Files.exists(dir.resolve("good").resolve(ClipSchema.QUARANTINE_DIR)));
    }

    /** The clip number of a position in the test dataset: clips are numbered on through row groups and files. */
    private static int clipNumber(long position) {
        int n = 0;
        for (int g = 0; g < ClipIndex.rowGroupOf(position); g++) {
            n += index.rowsOf(g);
        }
        return n + ClipIndex.rowOf(position);
    }

    private static void assertSameBatches(List<HostBatch> expected, List<HostBatch> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            HostBatch e = expected.get(i);
            HostBatch a = actual.get(i);
            assertEquals(e.clipIds(), a.clipIds(), "clips of batch " + i);
            assertArrayEquals(e.video(), a.video(), "video of batch " + i);
            assertArrayEquals(e.audio(), a.audio(), "audio of batch " + i);
            assertArrayEquals(e.videoMasks(), a.videoMasks(), "video masks of batch " + i);
            assertArrayEquals(e.audioMasks(), a.audioMasks(), "audio masks of batch " + i);
        }
    }
}
