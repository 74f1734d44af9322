package io.hicmae.runtime.audio;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KaldiFbankTest {
    private static NDManager manager;
    private static NDList golden;
    private static float[] waveform;

    @BeforeAll
    static void loadGolden() throws Exception {
        manager = NDManager.newBaseManager();
        Path file = Path.of(System.getProperty("hicmae.golden.dir"), "fbank.npz");
        try (InputStream in = Files.newInputStream(file)) {
            golden = NDList.decode(manager, in);
        }
        waveform = golden.get("waveform").toFloatArray();
    }

    @AfterAll
    static void close() {
        manager.close();
    }

    private static float[] expected(String name) {
        NDArray a = golden.get(name);
        assertTrue(a != null, "fbank.npz has no array " + name);
        return a.toFloatArray();
    }

    private static float[] flatten(float[][] rows) {
        int cols = rows[0].length;
        float[] out = new float[rows.length * cols];
        for (int r = 0; r < rows.length; r++) {
            System.arraycopy(rows[r], 0, out, r * cols, cols);
        }
        return out;
    }

    private static void assertClose(String name, float[] expected, float[] actual, double atol) {
        assertEquals(expected.length, actual.length, name + ": length");
        double max = 0;
        int worst = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs((double) expected[i] - actual[i]);
            if (d > max) {
                max = d;
                worst = i;
            }
        }
        System.out.printf("fbank golden %-28s max abs diff %.3g (atol %.0e)%n", name, max, atol);
        assertTrue(max <= atol, name + ": max abs diff " + max + " at flat index " + worst + " (expected "
                + expected[worst] + ", got " + actual[worst] + ")");
    }

    @Test
    void windowMatchesGoldenHann() {
        assertClose("hann_window_400", expected("hann_window_400"), KaldiFbank.window(), 1e-6);
    }

    @Test
    void melBanksMatchGolden() {
        assertClose("m32_t64.mel_banks", expected("m32_t64.mel_banks"), flatten(new KaldiFbank(32).melBanks()), 1e-5);
    }

    @Test
    void logMelMatchesGoldenFbankRaw() {
        for (int bins : new int[] {128, 32}) {
            float[][] logMel = new KaldiFbank(bins).logMel(waveform);
            assertEquals(98, logMel.length);
            assertEquals(bins, logMel[0].length);
            String name = (bins == 128 ? "m128_t256" : "m32_t64") + ".fbank_raw";
            assertClose(name, expected(name), flatten(logMel), 5e-3);
        }
    }

    @Test
    void modelInputMatchesGoldenWhenPaddedAndWhenCut() {
        assertClose("m128_t256.model_input", expected("m128_t256.model_input"),
                new KaldiFbank(128).modelInput(waveform, 256), 1e-3);
        float[] cut = new KaldiFbank(32).modelInput(waveform, 64);
        assertClose("m32_t64.model_input", expected("m32_t64.model_input"), cut, 1e-3);
        float[] unnormalised = new float[cut.length];
        for (int i = 0; i < cut.length; i++) {
            unnormalised[i] = (float) (cut[i] * 2 * KaldiFbank.NORM_STD + KaldiFbank.NORM_MEAN);
        }
        assertClose("m32_t64.fbank_cut_or_padded", expected("m32_t64.fbank_cut_or_padded"), unnormalised, 5e-3);
    }

    private static short[] pcm(float[] wave) {
        short[] pcm = new short[wave.length];
        for (int i = 0; i < pcm.length; i++) {
            pcm[i] = (short) Math.round(wave[i] * 32767);
        }
        return pcm;
    }

    @Test
    void pcmInputWithUnitGainMatchesFloatInput() {
        short[] pcm = pcm(waveform);
        float[] quantised = new float[pcm.length];
        for (int i = 0; i < pcm.length; i++) {
            quantised[i] = pcm[i] / 32768f;
        }
        KaldiFbank fbank = new KaldiFbank(32);
        assertArrayEquals(fbank.modelInput(quantised, 64), fbank.modelInput(pcm, 64, 1.0f), 1e-6f);
    }

    @Test
    void gainShiftsEveryUnflooredLogMelByTwiceLogGain() {
        KaldiFbank fbank = new KaldiFbank(128);
        short[] pcm = pcm(waveform);
        float gain = 1.37f;
        int frames = 98;
        float[] base = fbank.modelInput(pcm, frames, 1.0f);
        float[] shifted = fbank.modelInput(pcm, frames, gain);
        double scale = 2 * KaldiFbank.NORM_STD;
        double floor = Math.log(Math.ulp(1.0f));
        int checked = 0;
        for (int i = 0; i < base.length; i++) {
            double a = base[i] * scale + KaldiFbank.NORM_MEAN;
            double b = shifted[i] * scale + KaldiFbank.NORM_MEAN;
            if (a > floor + 1e-3 && b > floor + 1e-3) {
                assertEquals(2 * Math.log(gain), b - a, 1e-5, "frame " + i / 128 + " bin " + i % 128);
                checked++;
            }
        }
        assertTrue(checked > base.length / 2, "only " + checked + " values above the floor");
    }

    @Test
    void realFftMatchesDirectDft() {
        KaldiFbank fbank = new KaldiFbank(8);
        SplittableRandom rng = new SplittableRandom(5);
        double[] frame = new double[KaldiFbank.FRAME_LENGTH];
        for (int i = 0; i < frame.length; i++) {
            frame[i] = rng.nextDouble(-1, 1);
        }
        double[] power = new double[256];
        fbank.powerSpectrum(frame, new double[256], new double[256], power);
        for (int k = 0; k < 256; k++) {
            double re = 0;
            double im = 0;
            for (int n = 0; n < frame.length; n++) {
                re += frame[n] * Math.cos(2 * Math.PI * k * n / 512);
                im -= frame[n] * Math.sin(2 * Math.PI * k * n / 512);
            }
            assertEquals(re * re + im * im, power[k], 1e-9 * (1 + power[k]), "bin " + k);
        }
    }

    @Test
    void shortWaveformIsRejectedNamingItsLength() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new KaldiFbank(32).logMel(new float[399]));
        assertTrue(e.getMessage().contains("399"), e.getMessage());
    }

    @Test
    void sampledGainFollowsBetaTenTenPlusHalf() {
        SplittableRandom rng = new SplittableRandom(11);
        int n = 40_000;
        double sum = 0;
        double sumSq = 0;
        for (int i = 0; i < n; i++) {
            double g = KaldiFbank.sampleGain(rng);
            assertTrue(g > 0.5 && g < 1.5, "gain " + g);
            sum += g;
            sumSq += g * g;
        }
        double mean = sum / n;
        double variance = sumSq / n - mean * mean;
        // Beta(10, 10): mean 1/2, variance ab / ((a + b)^2 (a + b + 1)) = 100 / 8400
        assertEquals(1.0, mean, 0.003);
        assertEquals(100.0 / 8400.0, variance, 0.0006);
        assertEquals(KaldiFbank.sampleGain(new SplittableRandom(3)), KaldiFbank.sampleGain(new SplittableRandom(3)));
    }
}
