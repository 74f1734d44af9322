package io.hicmae.runtime.audio;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The device fbank against the host's float64 {@link KaldiFbank} (the golden file checks both, GoldenSuite). */
class DeviceFbankTest {

    private static short[] speechLike(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        short[] pcm = new short[n];
        double f0 = 100 + r.nextDouble(200);
        for (int i = 0; i < n; i++) {
            double t = i / 16_000.0;
            double v = 0.3 * Math.sin(2 * Math.PI * f0 * t) * (0.5 + 0.5 * Math.sin(2 * Math.PI * 3 * t))
                    + 0.1 * Math.sin(2 * Math.PI * 2.7 * f0 * t) + 0.01 * r.nextGaussian();
            pcm[i] = (short) Math.max(-32768, Math.min(32767, Math.round(v * 32768)));
        }
        if (seed % 2 == 0) {
            java.util.Arrays.fill(pcm, n / 2, n / 2 + 3_000, (short) 0); // silence: the log floor
        }
        return pcm;
    }

    @Test
    void batchedPcmWithGainsMatchesTheHostFbank() {
        int[][] settings = {{128, 256, 40_960}, {32, 64, 6_000}}; // bins, model frames, samples (cut and pad)
        for (int[] s : settings) {
            int bins = s[0];
            int frames = s[1];
            int n = s[2];
            int b = 3;
            KaldiFbank host = new KaldiFbank(bins);
            short[] all = new short[b * n];
            float[] gains = new float[b];
            SplittableRandom r = new SplittableRandom(bins);
            for (int i = 0; i < b; i++) {
                System.arraycopy(speechLike(n, i), 0, all, i * n, n);
                gains[i] = KaldiFbank.sampleGain(r);
            }
            try (NDManager m = NDManager.newBaseManager()) {
                java.nio.ByteBuffer bytes = java.nio.ByteBuffer.allocateDirect(all.length * 2)
                        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
                bytes.asShortBuffer().put(all);
                NDArray pcm = m.create(bytes, new Shape(b, 2 * n), DataType.UINT8);
                NDArray out = new DeviceFbank(bins).fromPcm(m, pcm, m.create(gains), frames);
                assertEquals(new Shape(b, 1, frames, bins), out.getShape());
                float[] got = out.toFloatArray();
                double maxDiff = 0;
                for (int i = 0; i < b; i++) {
                    float[] want = host.modelInput(java.util.Arrays.copyOfRange(all, i * n, (i + 1) * n), frames,
                            gains[i]);
                    for (int k = 0; k < want.length; k++) {
                        maxDiff = Math.max(maxDiff, Math.abs(want[k] - got[i * want.length + k]));
                    }
                }
                // the golden tolerance of the model input (fp32 against torchaudio) is 1e-3
                assertTrue(maxDiff < 1e-3, bins + " bins: max |device - host| = " + maxDiff);
            }
        }
    }

    @Test
    void rejectsPcmThatIsNotBytePairsAndAGainCountThatDiffers() {
        DeviceFbank fb = new DeviceFbank(32);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray floats = m.zeros(new Shape(2, 800));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> fb.fromPcm(m, floats, m.ones(new Shape(2)), 4));
            assertTrue(e.getMessage().contains("uint8 (little-endian int16 pairs)"), e.getMessage());
            NDArray pcm = m.zeros(new Shape(2, 1600), DataType.UINT8);
            e = assertThrows(IllegalArgumentException.class, () -> fb.fromPcm(m, pcm, m.ones(new Shape(3)), 4));
            assertTrue(e.getMessage().contains("one value per clip"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> fb.logMel(m, m.zeros(new Shape(1, 399))));
            assertTrue(e.getMessage().contains("at least 400"), e.getMessage());
        }
    }
}
