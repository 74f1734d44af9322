package io.hicmae.runtime.audio;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;

/**
 * The Kaldi log-mel front-end of {@link KaldiFbank} as batched engine operations, so it runs on the training step's
 * device (a GPU where there is one) inside the step's manager: int16 PCM and a gain per clip in, the model's
 * normalised (B, 1, F, M) audio input out. Same recipe as {@link KaldiFbank} (global mean removal, 25 ms frames every
 * 10 ms, frame mean removal, pre-emphasis 0.97, symmetric Hann window, 512-point |rfft|^2, HTK-mel triangles,
 * log floored at float epsilon, pad-or-cut, AudioSet normalisation), computed in fp32 as torchaudio does.
 *
 * <p>Dimension letters: B clips, N samples, L frames of the waveform, F frames of the model input, M mel bins.
 *
 * <p>Immutable and thread-safe: it holds only the window and mel bank values; every array it creates belongs to
 * the manager passed in.
 */
public final class DeviceFbank {

    private static final float PCM_SCALE = 1f / 32768f;
    private static final float PREEMPHASIS = 0.97f;
    private static final float LOG_FLOOR = Math.ulp(1.0f);
    private static final float PADDED = (float) ((0.0 - KaldiFbank.NORM_MEAN) / (2.0 * KaldiFbank.NORM_STD));

    private final int melBins;
    private final float[] window;
    private final float[] melBanksT; // (256, M) row-major

    /** @param melBins M (128 in production) */
    public DeviceFbank(int melBins) {
        KaldiFbank reference = new KaldiFbank(melBins);
        this.melBins = melBins;
        this.window = KaldiFbank.window();
        float[][] banks = reference.melBanks();
        int bins = banks[0].length;
        this.melBanksT = new float[bins * melBins];
        for (int m = 0; m < melBins; m++) {
            for (int k = 0; k < bins; k++) {
                melBanksT[k * melBins + m] = banks[m][k];
            }
        }
    }

    /** M. */
    public int melBins() {
        return melBins;
    }

    /**
     * The model's audio input from 16-bit PCM: each clip's samples divided by 32768 and multiplied by its gain
     * (upstream's {@code roll_mag_aug}; 1 = none), then {@link #modelInput}. The samples come as their
     * little-endian byte pairs in a uint8 array, because DJL 0.36's PyTorch engine has no int16 arrays (creating one
     * aborts the JVM); the pairs are combined on the device.
     *
     * @param pcmBytes (B, 2 N) uint8: sample n of clip b is {@code pcmBytes[b, 2n] | pcmBytes[b, 2n + 1] << 8}, as
     *     a signed 16-bit value; N at least 400
     * @param gains (B) float32, each positive
     * @return (B, 1, F, M) float32 on {@code pcmBytes}' device, owned by {@code manager}
     */
    public NDArray fromPcm(NDManager manager, NDArray pcmBytes, NDArray gains, int targetFrames) {
        Shape s = pcmBytes.getShape();
        if (s.dimension() != 2 || s.get(1) % 2 != 0 || pcmBytes.getDataType() != DataType.UINT8) {
            throw new IllegalArgumentException("pcm must be (B, 2 N) uint8 (little-endian int16 pairs), got " + s
                    + " " + pcmBytes.getDataType());
        }
        if (!gains.getShape().equals(new Shape(s.get(0)))) {
            throw new IllegalArgumentException("gains " + gains.getShape() + " must hold one value per clip of "
                    + s);
        }
        try (NDManager scope = manager.newSubManager(pcmBytes.getDevice())) {
            pcmBytes.tempAttach(scope);
            gains.tempAttach(scope);
            NDArray pairs = pcmBytes.reshape(s.get(0), s.get(1) / 2, 2).toType(DataType.FLOAT32, false);
            NDArray low = pairs.get(new NDIndex(":, :, 0"));
            NDArray high = pairs.get(new NDIndex(":, :, 1"));
            // high byte as signed: h - 256 when h >= 128
            NDArray signedHigh = high.sub(high.gte(128f).toType(DataType.FLOAT32, false).mul(256f));
            NDArray samples = signedHigh.mul(256f).add(low); // exact integers in fp32
            NDArray waveform = samples.mul(gains.mul(PCM_SCALE).expandDims(1));
            NDArray out = modelInput(scope, waveform, targetFrames);
            out.attach(manager);
            return out;
        }
    }

    /**
     * {@link #logMel} zero-padded (or cut) at the end to {@code targetFrames}, then normalised
     * {@code (x + 4.2677393) / (2 * 4.5689974)}.
     *
     * @param waveform (B, N) float32 in [-1, 1] scale
     * @return (B, 1, F, M) float32, owned by {@code manager}
     */
    public NDArray modelInput(NDManager manager, NDArray waveform, int targetFrames) {
        if (targetFrames <= 0) {
            throw new IllegalArgumentException("targetFrames must be positive, got " + targetFrames);
        }
        try (NDManager scope = manager.newSubManager(waveform.getDevice())) {
            waveform.tempAttach(scope);
            NDArray mel = logMel(scope, waveform);
            long frames = mel.getShape().get(1);
            long b = mel.getShape().get(0);
            NDArray normalised = mel.sub((float) KaldiFbank.NORM_MEAN).div((float) (2.0 * KaldiFbank.NORM_STD));
            NDArray fitted;
            if (frames >= targetFrames) {
                fitted = normalised.get(new NDIndex(":, :{}", targetFrames));
            } else {
                NDArray pad = scope.full(new Shape(b, targetFrames - frames, melBins), PADDED, DataType.FLOAT32,
                        waveform.getDevice());
                fitted = normalised.concat(pad, 1);
            }
            NDArray out = fitted.reshape(b, 1, targetFrames, melBins);
            out.attach(manager);
            return out;
        }
    }

    /**
     * Kaldi log-mel energies of each waveform after removing its global mean.
     *
     * @param waveform (B, N) float32 in [-1, 1] scale, N at least 400
     * @return (B, L, M) float32 with L = 1 + (N - 400) / 160, owned by {@code manager}
     */
    public NDArray logMel(NDManager manager, NDArray waveform) {
        Shape s = waveform.getShape();
        if (s.dimension() != 2) {
            throw new IllegalArgumentException("waveform must be (B, N), got " + s);
        }
        int frames = KaldiFbank.frameCount(Math.toIntExact(s.get(1)));
        try (NDManager scope = manager.newSubManager(waveform.getDevice())) {
            waveform.tempAttach(scope);
            NDArray x = waveform.sub(waveform.mean(new int[] {1}, true));
            NDArray framed = x.gather(frameIndex(scope, s.get(0), frames), 1)
                    .reshape(s.get(0), frames, KaldiFbank.FRAME_LENGTH);
            framed = framed.sub(framed.mean(new int[] {2}, true));
            NDArray previous = framed.get(new NDIndex(":, :, :1")).concat(
                    framed.get(new NDIndex(":, :, :{}", KaldiFbank.FRAME_LENGTH - 1)), 2);
            NDArray windowed = framed.sub(previous.mul(PREEMPHASIS)).mul(scope.create(window));
            NDArray spectrum = windowed.rfft(KaldiFbank.FFT_SIZE, -1).real(); // (B, L, 257, 2)
            NDArray power = spectrum.square().sum(new int[] {3}).get(new NDIndex(":, :, :{}",
                    KaldiFbank.FFT_SIZE / 2));
            NDArray energy = power.matMul(scope.create(melBanksT, new Shape(KaldiFbank.FFT_SIZE / 2, melBins)));
            NDArray out = energy.maximum(LOG_FLOOR).log();
            out.attach(manager);
            return out;
        }
    }

    /** Sample indices of every frame, (B, L * 400): frame l covers samples [160 l, 160 l + 400). */
    private static NDArray frameIndex(NDManager m, long batch, int frames) {
        long[] idx = new long[frames * KaldiFbank.FRAME_LENGTH];
        for (int l = 0; l < frames; l++) {
            for (int i = 0; i < KaldiFbank.FRAME_LENGTH; i++) {
                idx[l * KaldiFbank.FRAME_LENGTH + i] = (long) l * KaldiFbank.FRAME_SHIFT + i;
            }
        }
        return m.create(idx, new Shape(1, idx.length)).broadcast(batch, idx.length);
    }
}
