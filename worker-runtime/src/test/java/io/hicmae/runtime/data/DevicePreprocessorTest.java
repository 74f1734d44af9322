package io.hicmae.runtime.data;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.model.PretrainBatch;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The two forms of a batch ({@link Preprocessing}) against the host computation: the host form is that computation,
 * the device form matches it (video bit for bit, fbank within 1e-3) and does not alias the host buffers.
 */
class DevicePreprocessorTest {

    private static final HicmaeConfig TINY = HicmaeConfig.tiny(); // 16 frames of 16x16, 64x32 fbank
    private static final ClipGeometry G = ClipShardReaderTest.SMALL; // 24x24 frames, 10,480 samples

    @Test
    void matchesTheHostCropNormalisationAndFbankAndDoesNotAliasTheBuffers() {
        BatchAssembler assembler = new BatchAssembler(TINY, G, true, true);
        List<String> ids = new ArrayList<>();
        List<byte[]> frames = new ArrayList<>();
        List<short[]> pcm = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            StoredClip c = ClipFiles.synthetic(G, i);
            ids.add(c.clipId());
            frames.add(c.frames());
            pcm.add(c.pcm());
        }
        HostBatch host = assembler.prepare(ids, frames, pcm, new SplittableRandom(4), Preprocessing.DEVICE);
        HostBatch onHost = assembler.prepare(ids, frames, pcm, new SplittableRandom(4), Preprocessing.HOST);
        assertEquals(Preprocessing.DEVICE, host.preprocessing());
        assertEquals(Preprocessing.HOST, onHost.preprocessing());
        MultiScaleCrop crop = new MultiScaleCrop(G.width(), G.height(), TINY.imgSize());
        KaldiFbank fbank = new KaldiFbank(TINY.audioMelBins());
        int videoSize = 3 * 16 * 16 * 16;
        int audioSize = TINY.audioFrames() * TINY.audioMelBins();
        float[] video = new float[3 * videoSize];
        float[] audio = new float[3 * audioSize];
        for (int i = 0; i < 3; i++) {
            byte[] cropped = crop.apply(frames.get(i), G.frames(), host.windows()[i]);
            ClipTensors.normalizeFrames(cropped, 16, 16, 16, video, i * videoSize);
            float[] mel = fbank.modelInput(pcm.get(i), TINY.audioFrames(), host.gains()[i]);
            System.arraycopy(mel, 0, audio, i * audioSize, audioSize);
        }
        assertArrayEquals(video, onHost.video(), "host form: crop + normalisation");
        assertArrayEquals(audio, onHost.audio(), "host form: fbank with the same gains");
        assertArrayEquals(host.videoMasks(), onHost.videoMasks(), "the same draws in both forms");
        assertArrayEquals(host.audioMasks(), onHost.audioMasks());
        try (NDManager m = NDManager.newBaseManager()) {
            PretrainBatch h = onHost.toPretrainBatch(m);
            assertArrayEquals(video, h.video().toFloatArray());
            assertArrayEquals(audio, h.audio().toFloatArray());
            PretrainBatch b = host.toPretrainBatch(m);
            // overwrite the host buffers: the model inputs must not read them any more
            host.buffers().frames().put(new byte[host.buffers().frames().remaining()]);
            assertEquals(new Shape(3, 3, 16, 16, 16), b.video().getShape());
            assertArrayEquals(video, b.video().toFloatArray(), "crop + normalisation, bit for bit");
            float[] got = b.audio().toFloatArray();
            double maxDiff = 0;
            for (int k = 0; k < got.length; k++) {
                maxDiff = Math.max(maxDiff, Math.abs(got[k] - audio[k]));
            }
            assertTrue(maxDiff < 1e-3, "fbank: max |device - host| = " + maxDiff);
            assertArrayEquals(java.util.Arrays.stream(host.videoMasks()[2].maskedIndex()).asLongStream().toArray(),
                    b.videoMasked().get(2).toLongArray());
            assertArrayEquals(java.util.Arrays.stream(host.audioMasks()[0].visibleIndex()).asLongStream().toArray(),
                    b.audioVisible().get(0).toLongArray());
        }
    }
}
