package io.hicmae.runtime.data;

import io.hicmae.runtime.config.HicmaeConfig;
import org.junit.jupiter.api.Test;

import java.nio.ByteBuffer;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.CRC32;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GeneratedClipsTest {

    private static final HicmaeConfig TINY = HicmaeConfig.tiny();

    /** Checksum of clips 0..9 (seed 7, 8 speakers, tiny) as the generator made them before variations existed. */
    @Test
    void originalGeneratorIsUnchanged() {
        CRC32 crc = new CRC32();
        GeneratedClips clips = new GeneratedClips(TINY, 7, 8);
        for (int i = 0; i < 10; i++) {
            GeneratedClips.Clip c = clips.clip(i);
            crc.update(c.frames());
            ByteBuffer pcm = ByteBuffer.allocate(2 * c.pcm().length);
            pcm.asShortBuffer().put(c.pcm());
            crc.update(pcm.array());
        }
        assertEquals(0x5744e3c2L, crc.getValue());
    }

    @Test
    void nuisanceClipsAreDeterministicAndKeepSpeakerAndRhythm() {
        GeneratedClips plain = new GeneratedClips(TINY, 7, 8);
        GeneratedClips a = new GeneratedClips(TINY, 7, 8, GeneratedClips.Variation.NUISANCE);
        GeneratedClips b = new GeneratedClips(TINY, 7, 8, GeneratedClips.Variation.NUISANCE);
        for (int i = 0; i < 5; i++) {
            GeneratedClips.Clip x = a.clip(i);
            GeneratedClips.Clip y = b.clip(i);
            assertArrayEquals(x.frames(), y.frames());
            assertArrayEquals(x.pcm(), y.pcm());
            assertEquals(plain.clip(i).speaker(), x.speaker());
            assertEquals(plain.clip(i).syllableHz(), x.syllableHz());
            assertEquals(TINY.numFrames() * TINY.imgSize() * TINY.imgSize() * 3, x.frames().length);
            assertEquals(a.samplesPerClip(), x.pcm().length);
        }
    }

    /** The corner pixel is background: fixed by the speaker in the original generator, drawn per clip otherwise. */
    @Test
    void nuisanceDrawsTheBackgroundPerClipNotPerSpeaker() {
        assertEquals(1, cornerColours(GeneratedClips.Variation.NONE));
        assertTrue(cornerColours(GeneratedClips.Variation.NUISANCE) > 5);
    }

    private static int cornerColours(GeneratedClips.Variation variation) {
        GeneratedClips clips = new GeneratedClips(TINY, 7, 4, variation);
        Set<Integer> colours = new HashSet<>();
        int seen = 0;
        for (int i = 0; seen < 10; i++) {
            GeneratedClips.Clip c = clips.clip(i);
            if (c.speaker() == 2) {
                byte[] f = c.frames();
                colours.add((f[0] & 0xff) << 16 | (f[1] & 0xff) << 8 | (f[2] & 0xff));
                seen++;
            }
        }
        assertFalse(colours.isEmpty());
        return colours.size();
    }
}
