package io.hicmae.runtime.data;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.mask.TokenMask;
import io.hicmae.runtime.model.PretrainBatch;
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

    /** A loader doing I/O only ({@link Preprocessing#DEVICE}): its batches hold the stored bytes. */
    private static PrefetchingLoader loader(ClipIndex index, int rank, int ranks, int batch, long seed) {
        return loader(index, rank, ranks, batch, seed, Preprocessing.DEVICE);
    }

    private static PrefetchingLoader loader(ClipIndex index, int rank, int ranks, int batch, long seed,
            Preprocessing where) {
        return new PrefetchingLoader(index, TINY, new LoaderOptions(rank, ranks, batch, seed, 2, 2, G), conf, where);
    }

    /** The next n batches, copied out (a loader's batch is valid only until the next call). */
    private static List<Snapshot> take(PrefetchingLoader loader, int n) throws IOException {
        List<Snapshot> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(Snapshot.of(loader.next(WAIT)));
        }
        return out;
    }

    /** Everything a host batch holds, copied. */
    private record Snapshot(List<String> clipIds, byte[] frames, byte[] pcm, List<MultiScaleCrop.Window> windows,
            float[] gains, TokenMask[] videoMasks, TokenMask[] audioMasks) {
        static Snapshot of(HostBatch b) {
            byte[] f = new byte[b.frameBuffer().remaining()];
            b.frameBuffer().get(f);
            byte[] p = new byte[b.pcmBuffer().remaining()];
            b.pcmBuffer().get(p);
            return new Snapshot(b.clipIds(), f, p, List.of(b.windows()), b.gains(), b.videoMasks(), b.audioMasks());
        }

        int size() {
            return clipIds.size();
        }
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
                for (Snapshot b : take(l, steps)) {
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
    void batchesHoldStoredBytesAndBecomeTheModelsGeometryOnTheDevice() throws IOException {
        try (PrefetchingLoader l = loader(index, 0, 1, 3, 1); NDManager m = NDManager.newBaseManager()) {
            HostBatch b = l.next(WAIT);
            assertEquals(3L * G.frameBytes(), b.frameBuffer().remaining(), "uint8 frames as stored");
            assertEquals(3L * G.pcmBytes(), b.pcmBuffer().remaining(), "int16 samples as stored");
            assertEquals(TINY.videoMasked(), b.videoMasks()[0].maskedIndex().length);
            assertEquals(TINY.audioMasked(), b.audioMasks()[0].maskedIndex().length);
            PretrainBatch p = b.toPretrainBatch(m);
            assertEquals(new Shape(3, 3, 16, 16, 16), p.video().getShape());
            assertEquals(new Shape(3, 1, 64, 32), p.audio().getShape());
        }
    }

    @Test
    void bothFormsServeTheSameClipsDrawsAndModelInputs() throws IOException {
        try (PrefetchingLoader d = loader(index, 1, 2, 3, 6); PrefetchingLoader h = loader(index, 1, 2, 3, 6,
                Preprocessing.HOST); NDManager m = NDManager.newBaseManager()) {
            for (int i = 0; i < d.stepsPerEpoch() + 1; i++) { // over an epoch boundary
                HostBatch onHost = h.next(WAIT);
                assertEquals(Preprocessing.HOST, onHost.preprocessing());
                assertThrows(IllegalStateException.class, onHost::frameBuffer, "the host form holds no bytes");
                HostBatch onDevice = d.next(WAIT);
                assertEquals(onDevice.clipIds(), onHost.clipIds(), "batch " + i);
                assertArrayEquals(onDevice.videoMasks(), onHost.videoMasks(), "batch " + i);
                assertArrayEquals(onDevice.audioMasks(), onHost.audioMasks(), "batch " + i);
                try (NDManager step = m.newSubManager()) {
                    PretrainBatch a = onHost.toPretrainBatch(step);
                    PretrainBatch b = onDevice.toPretrainBatch(step);
                    assertArrayEquals(a.video().toFloatArray(), b.video().toFloatArray(), "video of batch " + i);
                    assertTrue(a.audio().sub(b.audio()).abs().max().getFloat() < 1e-3, "fbank of batch " + i);
                }
            }
        }
    }

    @Test
    void aBatchLendsItsBuffersUntilTheNextCall() throws IOException {
        try (PrefetchingLoader l = loader(index, 0, 1, 2, 1)) {
            java.util.Set<BatchBuffers> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            HostBatch previous = null;
            for (int i = 0; i < 2 * l.stepsPerEpoch(); i++) {
                HostBatch b = l.next(WAIT);
                seen.add(b.buffers());
                if (previous != null) {
                    HostBatch released = previous;
                    IllegalStateException e = assertThrows(IllegalStateException.class, released::frameBuffer);
                    assertTrue(e.getMessage().contains("valid until the next call"), e.getMessage());
                }
                previous = b;
            }
            assertEquals(2 + 2, seen.size(), "prefetch 2 + 2 buffers, reused over " + 2 * l.stepsPerEpoch()
                    + " batches");
        }
    }

    @Test
    void resumingWithSeekGivesTheBatchesOfAnUninterruptedRun() throws IOException {
        List<Snapshot> straight;
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
            Snapshot epoch0 = Snapshot.of(a.next(WAIT));
            Snapshot epoch1 = Snapshot.of(a.next(WAIT));
            assertEquals(Set.copyOf(epoch0.clipIds()), Set.copyOf(epoch1.clipIds()), "one rank, no remainder");
            assertNotEquals(epoch0.clipIds(), epoch1.clipIds());
            assertSameBatches(List.of(epoch0), List.of(Snapshot.of(b.next(WAIT))));
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

    private static void assertSameBatches(List<Snapshot> expected, List<Snapshot> actual) {
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            Snapshot e = expected.get(i);
            Snapshot a = actual.get(i);
            assertEquals(e.clipIds(), a.clipIds(), "clips of batch " + i);
            assertArrayEquals(e.frames(), a.frames(), "frames of batch " + i);
            assertArrayEquals(e.pcm(), a.pcm(), "pcm of batch " + i);
            assertEquals(e.windows(), a.windows(), "crop windows of batch " + i);
            assertArrayEquals(e.gains(), a.gains(), "gains of batch " + i);
            assertArrayEquals(e.videoMasks(), a.videoMasks(), "video masks of batch " + i);
            assertArrayEquals(e.audioMasks(), a.audioMasks(), "audio masks of batch " + i);
        }
    }
}
