package io.hicmae.prep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class ClipSamplerTest {

    @Test
    void samplesEveryFourthFrameOfNonOverlappingWindows() {
        ClipSampler s = ClipSampler.NON_OVERLAPPING;
        assertEquals(0, s.sampleMicros(0, 0));
        assertEquals(160_000, s.sampleMicros(0, 1)); // frame 4 at 25 fps
        assertEquals(2_400_000, s.sampleMicros(0, 15)); // frame 60
        assertEquals(2_560_000, s.windowStartMicros(1)); // frame 64
        assertEquals(4_960_000, s.sampleMicros(1, 15)); // frame 124
        assertEquals(2_520_000, s.lastFrameMicros(0)); // frame 63
        assertEquals(40_960, s.audioStartSample(1));
    }

    @Test
    void countsWholeWindowsOnly() {
        ClipSampler s = ClipSampler.NON_OVERLAPPING;
        assertEquals(0, s.windowCount(63));
        assertEquals(1, s.windowCount(64));
        assertEquals(1, s.windowCount(127));
        assertEquals(2, s.windowCount(128));
        assertEquals(3, new ClipSampler(32).windowCount(150));
    }

    @Test
    void rejectsStrideBelowOne() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new ClipSampler(0));
        assertEquals("Invalid value 0 for configuration window-stride: must be at least 1", e.getMessage());
    }

    @Test
    void clipIdIsSha256PrefixOfSourceAndWindow() {
        // Expected values from Python: hashlib.sha256(source.encode() + b"\0" + b"3").hexdigest()[:32]
        assertEquals("50d4f8a2a600f4d36cf7cc3e3fec8660", ClipRecord.clipId("spk1/vid 2.mp4", 3));
        assertEquals("3fd3d1f0eeded4f4a0664ca9ea57ec87", ClipRecord.clipId("ünï/-a.mp4", 0));
    }
}
