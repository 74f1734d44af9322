package io.hicmae.runtime.audio;

import io.hicmae.runtime.stats.Beta;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * Kaldi log-mel filter bank as {@code torchaudio.compliance.kaldi.fbank} computes it with the settings
 * HiCMAE uses (16 kHz, 25 ms symmetric Hann frames every 10 ms, per-frame DC removal, pre-emphasis 0.97,
 * 512-point power spectrum, HTK-mel triangles over 20 Hz to 8 kHz, natural log floored at float epsilon,
 * no energy term, no dither), followed by the model's pad-or-cut and AudioSet normalisation.
 *
 * <p>Pure Java in double precision with a hand-written real FFT, so the front-end runs in data loaders
 * without any native engine. The window, FFT tables and mel banks are built once per instance; an
 * instance is immutable and may be shared between threads.
 */
public final class KaldiFbank {
    /** Sample rate the recipe assumes, in Hz. */
    public static final int SAMPLE_RATE = 16_000;
    /** Samples per frame (25 ms). */
    public static final int FRAME_LENGTH = 400;
    /** Samples between frame starts (10 ms). */
    public static final int FRAME_SHIFT = 160;
    /** FFT length: the frame zero-padded to the next power of two. */
    public static final int FFT_SIZE = 512;
    /** AudioSet mean of the log-mel values (borrowed by upstream from AudioMAE). */
    public static final double NORM_MEAN = -4.2677393;
    /** AudioSet standard deviation; upstream divides by twice this value. */
    public static final double NORM_STD = 4.5689974;

    private static final int BINS = FFT_SIZE / 2; // mel banks cover bins 0..255; bin 256 has weight 0
    private static final int HALF = FFT_SIZE / 2; // length of the packed complex FFT
    private static final double PREEMPHASIS = 0.97;
    private static final double LOW_FREQ = 20.0;
    private static final double HIGH_FREQ = SAMPLE_RATE / 2.0;
    private static final double LOG_FLOOR = Math.ulp(1.0f); // 1.1920929e-07, torch.finfo(float32).eps

    private static final double[] WINDOW = hann();

    private final int melBins;
    private final int[] bankStart;
    private final double[][] bankWeights;
    private final int[] bitReverse = new int[HALF];
    private final double[] cos = new double[HALF / 2];
    private final double[] sin = new double[HALF / 2];
    private final double[] splitCos = new double[BINS];
    private final double[] splitSin = new double[BINS];

    /**
     * @param melBins number of mel bins (128 in production, 32 in the tiny test configuration)
     */
    public KaldiFbank(int melBins) {
        if (melBins <= 0) {
            throw new IllegalArgumentException("melBins must be positive, got " + melBins);
        }
        this.melBins = melBins;
        this.bankStart = new int[melBins];
        this.bankWeights = new double[melBins][];
        buildMelBanks();
        int bits = Integer.numberOfTrailingZeros(HALF);
        for (int i = 0; i < HALF; i++) {
            bitReverse[i] = Integer.reverse(i) >>> (32 - bits);
        }
        for (int j = 0; j < HALF / 2; j++) {
            cos[j] = Math.cos(2 * Math.PI * j / HALF);
            sin[j] = Math.sin(2 * Math.PI * j / HALF);
        }
        for (int k = 0; k < BINS; k++) {
            splitCos[k] = Math.cos(2 * Math.PI * k / FFT_SIZE);
            splitSin[k] = Math.sin(2 * Math.PI * k / FFT_SIZE);
        }
    }

    /** @return the number of mel bins */
    public int melBins() {
        return melBins;
    }

    /**
     * The symmetric Hann window {@code 0.5 - 0.5 cos(2 pi n / 399)}, n = 0..399.
     *
     * @return a fresh copy of the window
     */
    public static float[] window() {
        float[] w = new float[FRAME_LENGTH];
        for (int i = 0; i < FRAME_LENGTH; i++) {
            w[i] = (float) WINDOW[i];
        }
        return w;
    }

    /**
     * The triangular mel filter bank over FFT bins 0..255 (no area normalisation).
     *
     * @return a fresh (melBins, 256) array
     */
    public float[][] melBanks() {
        float[][] banks = new float[melBins][BINS];
        for (int m = 0; m < melBins; m++) {
            for (int i = 0; i < bankWeights[m].length; i++) {
                banks[m][bankStart[m] + i] = (float) bankWeights[m][i];
            }
        }
        return banks;
    }

    /**
     * Number of complete frames in a waveform: {@code 1 + (samples - 400) / 160}.
     *
     * @param samples waveform length, at least 400
     * @return the frame count
     */
    public static int frameCount(int samples) {
        if (samples < FRAME_LENGTH) {
            throw new IllegalArgumentException("waveform has " + samples + " samples; the fbank needs at least "
                    + FRAME_LENGTH + " (one 25 ms frame at 16 kHz)");
        }
        return 1 + (samples - FRAME_LENGTH) / FRAME_SHIFT;
    }

    /**
     * Log-mel features of a 16 kHz waveform in [-1, 1] scale. The waveform's global mean is removed first.
     *
     * @param waveform samples, at least 400
     * @return (frames, melBins) log-mel energies
     */
    public float[][] logMel(float[] waveform) {
        double[][] features = compute(toDouble(waveform));
        float[][] out = new float[features.length][melBins];
        for (int t = 0; t < features.length; t++) {
            for (int m = 0; m < melBins; m++) {
                out[t][m] = (float) features[t][m];
            }
        }
        return out;
    }

    /**
     * The model's audio input: log-mel features zero-padded (rows of 0 appended) or cut at the end to
     * {@code targetFrames}, then normalised {@code (x + 4.2677393) / (2 * 4.5689974)}.
     *
     * @param waveform     16 kHz samples in [-1, 1] scale, at least 400
     * @param targetFrames time frames of the model input (256 in production)
     * @return flattened (targetFrames, melBins) row-major array (time, mel)
     */
    public float[] modelInput(float[] waveform, int targetFrames) {
        return normalised(compute(toDouble(waveform)), targetFrames);
    }

    /**
     * {@link #modelInput(float[], int)} for 16-bit PCM: samples are divided by 32768 and multiplied by
     * {@code gain} (upstream's {@code roll_mag_aug} factor; 1 = no augmentation).
     *
     * @param pcm16        16 kHz signed 16-bit samples, at least 400
     * @param targetFrames time frames of the model input
     * @param gain         positive amplitude factor, e.g. from {@link #sampleGain(RandomGenerator)}
     * @return flattened (targetFrames, melBins) row-major array (time, mel)
     */
    public float[] modelInput(short[] pcm16, int targetFrames, float gain) {
        if (!(gain > 0 && Float.isFinite(gain))) {
            throw new IllegalArgumentException("gain must be positive and finite, got " + gain);
        }
        if (pcm16 == null) {
            throw new IllegalArgumentException("pcm16 must not be null");
        }
        double[] x = new double[pcm16.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = pcm16[i] / 32768.0 * gain;
        }
        return normalised(compute(x), targetFrames);
    }

    /**
     * Draws upstream's {@code roll_mag_aug} amplitude factor Beta(10, 10) + 0.5, in (0.5, 1.5) with mean 1.
     * Beta(a, b) is drawn as X / (X + Y) from two Gamma draws (Marsaglia and Tsang's method).
     *
     * @param rng source of randomness
     * @return the gain
     */
    public static float sampleGain(RandomGenerator rng) {
        return (float) (Beta.sample(10.0, rng) + 0.5);
    }

    private static double[] toDouble(float[] waveform) {
        if (waveform == null) {
            throw new IllegalArgumentException("waveform must not be null");
        }
        double[] x = new double[waveform.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = waveform[i];
        }
        return x;
    }

    private float[] normalised(double[][] features, int targetFrames) {
        if (targetFrames <= 0) {
            throw new IllegalArgumentException("targetFrames must be positive, got " + targetFrames);
        }
        float[] out = new float[targetFrames * melBins];
        float padded = (float) ((0.0 - NORM_MEAN) / (2.0 * NORM_STD));
        for (int t = 0; t < targetFrames; t++) {
            for (int m = 0; m < melBins; m++) {
                out[t * melBins + m] = t < features.length
                        ? (float) ((features[t][m] - NORM_MEAN) / (2.0 * NORM_STD))
                        : padded;
            }
        }
        return out;
    }

    /** Steps 1 to 5 of the recipe on a waveform that is modified in place (mean removed). */
    private double[][] compute(double[] x) {
        int frames = frameCount(x.length);
        double mean = 0;
        for (double v : x) {
            mean += v;
        }
        mean /= x.length;
        for (int i = 0; i < x.length; i++) {
            x[i] -= mean;
        }
        double[][] out = new double[frames][melBins];
        double[] frame = new double[FRAME_LENGTH];
        double[] re = new double[HALF];
        double[] im = new double[HALF];
        double[] power = new double[BINS];
        for (int t = 0; t < frames; t++) {
            int start = t * FRAME_SHIFT;
            double frameMean = 0;
            for (int i = 0; i < FRAME_LENGTH; i++) {
                frame[i] = x[start + i];
                frameMean += frame[i];
            }
            frameMean /= FRAME_LENGTH;
            for (int i = 0; i < FRAME_LENGTH; i++) {
                frame[i] -= frameMean;
            }
            for (int i = FRAME_LENGTH - 1; i > 0; i--) {
                frame[i] = (frame[i] - PREEMPHASIS * frame[i - 1]) * WINDOW[i];
            }
            frame[0] = (frame[0] - PREEMPHASIS * frame[0]) * WINDOW[0];
            powerSpectrum(frame, re, im, power);
            for (int m = 0; m < melBins; m++) {
                double[] w = bankWeights[m];
                int s = bankStart[m];
                double e = 0;
                for (int i = 0; i < w.length; i++) {
                    e += w[i] * power[s + i];
                }
                out[t][m] = Math.log(Math.max(e, LOG_FLOOR));
            }
        }
        return out;
    }

    /**
     * |rfft|^2 of the frame zero-padded to 512, bins 0..255. The 512 real samples are packed into a
     * 256-point complex FFT (even samples real, odd imaginary) and split into the real spectrum.
     */
    void powerSpectrum(double[] frame, double[] re, double[] im, double[] power) {
        for (int n = 0; n < HALF; n++) {
            int r = bitReverse[n];
            re[r] = 2 * n < frame.length ? frame[2 * n] : 0.0;
            im[r] = 2 * n + 1 < frame.length ? frame[2 * n + 1] : 0.0;
        }
        for (int len = 2; len <= HALF; len <<= 1) {
            int halfLen = len >> 1;
            int step = HALF / len;
            for (int i = 0; i < HALF; i += len) {
                for (int j = 0; j < halfLen; j++) {
                    double wr = cos[j * step];
                    double wi = -sin[j * step];
                    int a = i + j;
                    int b = a + halfLen;
                    double tr = re[b] * wr - im[b] * wi;
                    double ti = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
        }
        for (int k = 0; k < BINS; k++) {
            int c = (HALF - k) & (HALF - 1);
            double er = 0.5 * (re[k] + re[c]);
            double ei = 0.5 * (im[k] - im[c]);
            double or = 0.5 * (im[k] + im[c]);
            double oi = -0.5 * (re[k] - re[c]);
            double xr = er + splitCos[k] * or + splitSin[k] * oi;
            double xi = ei + splitCos[k] * oi - splitSin[k] * or;
            power[k] = xr * xr + xi * xi;
        }
    }

    private static double[] hann() {
        double[] w = new double[FRAME_LENGTH];
        for (int i = 0; i < FRAME_LENGTH; i++) {
            w[i] = 0.5 - 0.5 * Math.cos(2 * Math.PI * i / (FRAME_LENGTH - 1));
        }
        return w;
    }

    private static double mel(double hz) {
        return 1127.0 * Math.log(1.0 + hz / 700.0);
    }

    private void buildMelBanks() {
        double low = mel(LOW_FREQ);
        double delta = (mel(HIGH_FREQ) - low) / (melBins + 1);
        double binWidth = (double) SAMPLE_RATE / FFT_SIZE;
        double[] binMel = new double[BINS];
        for (int k = 0; k < BINS; k++) {
            binMel[k] = mel(k * binWidth);
        }
        for (int m = 0; m < melBins; m++) {
            double left = low + m * delta;
            double center = low + (m + 1) * delta;
            double right = low + (m + 2) * delta;
            double[] w = new double[BINS];
            int first = BINS;
            int last = -1;
            for (int k = 0; k < BINS; k++) {
                double up = (binMel[k] - left) / (center - left);
                double down = (right - binMel[k]) / (right - center);
                w[k] = Math.max(0.0, Math.min(up, down));
                if (w[k] > 0) {
                    first = Math.min(first, k);
                    last = k;
                }
            }
            bankStart[m] = last < 0 ? 0 : first;
            bankWeights[m] = last < 0 ? new double[0] : Arrays.copyOfRange(w, first, last + 1);
        }
    }
}
