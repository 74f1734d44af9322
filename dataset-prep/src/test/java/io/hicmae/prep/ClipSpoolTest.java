package io.hicmae.prep;

import io.hicmae.runtime.data.ClipSchema;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClipSpoolTest {

    @TempDir Path dir;

    private static ClipRecord clip(int window) {
        byte[] frames = new byte[ClipSchema.FRAME_BYTES];
        byte[] pcm = new byte[ClipSchema.PCM_BYTES];
        frames[window] = (byte) (window + 1);
        pcm[pcm.length - 1 - window] = (byte) (window + 7);
        return new ClipRecord(ClipRecord.clipId("a b.mp4", window), "a b.mp4", window, window * 2.56, 25, frames, pcm);
    }

    private List<Path> spillFiles() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void givesBackClipsInOrderAcrossMemoryAndDisk() throws IOException {
        ClipSpool spool = new ClipSpool(2L * (ClipSchema.FRAME_BYTES + ClipSchema.PCM_BYTES), dir);
        List<ClipRecord> in = new ArrayList<>();
        for (int w = 0; w < 5; w++) {
            in.add(clip(w));
            spool.accept(in.get(w));
        }
        assertTrue(spool.spilled());
        assertEquals(5, spool.size());
        Iterator<ClipRecord> out = spool.drain();
        for (ClipRecord expected : in) {
            ClipRecord got = out.next();
            assertEquals(expected.clipId(), got.clipId());
            assertEquals(expected.source(), got.source());
            assertEquals(expected.window(), got.window());
            assertEquals(expected.startS(), got.startS());
            assertArrayEquals(expected.frames(), got.frames());
            assertArrayEquals(expected.pcm(), got.pcm());
        }
        assertFalse(out.hasNext());
        assertEquals(List.of(), spillFiles());
        assertEquals(0, spool.size());
    }

    @Test
    void clearDropsEverythingAndTheSpillFile() throws IOException {
        ClipSpool spool = new ClipSpool(0, dir);
        spool.accept(clip(0));
        assertEquals(1, spillFiles().size());
        spool.clear();
        assertEquals(0, spool.size());
        assertFalse(spool.drain().hasNext());
        assertEquals(List.of(), spillFiles());
    }
}
