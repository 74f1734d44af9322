package io.hicmae.runtime.data;

import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.mask.RandomMaskGenerator;
import io.hicmae.runtime.mask.TokenMask;
import io.hicmae.runtime.mask.TubeMaskGenerator;
import io.hicmae.runtime.model.PretrainBatch;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;

/**
 * The host's part of a pre-training batch, in either {@link Preprocessing} form: {@link #prepare(BatchBuffers,
 * ClipSource, RandomGenerator)} copies the clips' stored bytes into {@link BatchBuffers} for the step's device to
 * preprocess ({@link DevicePreprocessor}); {@link #prepareOnHost} computes the model inputs here, in Java (crop,
 * normalisation, fbank with gain). Both draw the step's randomness from the given generator in the same order: a
 * crop window per clip (when cropping), then per clip a gain (when augmenting), a tube mask and an audio mask; so
 * both forms of a batch hold the same windows, gains and masks. Immutable and thread-safe, so a loader thread can run
 * it.
 */
public final class BatchAssembler {

    private final HicmaeConfig config;
    private final DevicePreprocessor preprocessor;
    private final KaldiFbank fbank;
    private final TubeMaskGenerator videoMasks;
    private final RandomMaskGenerator audioMasks;
    private final boolean gainAugmentation;
    private final boolean cropping;

    /**
     * For clips already at the model's geometry (T frames of S x S, the samples of F fbank frames): no crop.
     *
     * @param gainAugmentation upstream's {@code roll_mag_aug} (on in pre-training)
     */
    public BatchAssembler(HicmaeConfig config, boolean gainAugmentation) {
        this(config, new ClipGeometry(config.numFrames(), config.imgSize(), config.imgSize(), 3,
                KaldiFbank.SAMPLE_RATE, GeneratedClips.samplesFor(config)), gainAugmentation, false);
    }

    /**
     * @param stored the clips' geometry
     * @param gainAugmentation upstream's {@code roll_mag_aug} (on in pre-training)
     * @param cropping draw a {@link MultiScaleCrop} window per clip (pre-training); off: the whole frame, which
     *     must then be S x S
     */
    public BatchAssembler(HicmaeConfig config, ClipGeometry stored, boolean gainAugmentation, boolean cropping) {
        this.config = config;
        this.preprocessor = new DevicePreprocessor(config, stored);
        this.fbank = new KaldiFbank(config.audioMelBins());
        if (!cropping && (stored.width() != config.imgSize() || stored.height() != config.imgSize())) {
            throw new IllegalArgumentException("clips of " + stored.width() + "x" + stored.height()
                    + " need the crop to become " + config.imgSize() + "x" + config.imgSize());
        }
        this.videoMasks = new TubeMaskGenerator(config.videoSlices(), config.videoPatchesPerFrame(),
                config.maskRatioVideo());
        this.audioMasks = new RandomMaskGenerator(config.audioTokens(), config.maskRatioAudio());
        this.gainAugmentation = gainAugmentation;
        this.cropping = cropping;
    }

    /** The stored geometry the clips must have. */
    public ClipGeometry stored() {
        return preprocessor.stored();
    }

    /**
     * The {@link Preprocessing#DEVICE} form: the clips, read through {@code clips.clip(i)} for i in [0, B) with B =
     * {@code buffers.clips()}, copied into {@code buffers}, and the step's draws.
     */
    public HostBatch prepare(BatchBuffers buffers, ClipSource clips, RandomGenerator rng) throws IOException {
        int b = buffers.clips();
        List<String> ids = new ArrayList<>(b);
        MultiScaleCrop.Window whole = new MultiScaleCrop.Window(0, 0, stored().width(), stored().height());
        MultiScaleCrop.Window[] windows = new MultiScaleCrop.Window[b];
        for (int i = 0; i < b; i++) {
            StoredClip c = clips.clip(i);
            ids.add(c.clipId());
            buffers.putFrames(i, c.frames());
            buffers.putPcm(i, c.pcm());
            windows[i] = cropping ? preprocessor.crop().sample(rng) : whole;
        }
        float[] gains = new float[b];
        TokenMask[] vm = new TokenMask[b];
        TokenMask[] am = new TokenMask[b];
        for (int i = 0; i < b; i++) {
            gains[i] = gainAugmentation ? KaldiFbank.sampleGain(rng) : 1f;
            vm[i] = videoMasks.next(rng);
            am[i] = audioMasks.next(rng);
        }
        return new HostBatch(ids, buffers, windows, gains, vm, am, preprocessor);
    }

    /**
     * The {@link Preprocessing#HOST} form of {@code b} clips read through {@code clips.clip(i)}: each clip cropped
     * and resized ({@link MultiScaleCrop}, when cropping) and normalised ({@link ClipTensors}), its fbank computed
     * with its gain ({@link KaldiFbank}), with the same draws as {@link #prepare(BatchBuffers, ClipSource,
     * RandomGenerator)}.
     */
    public HostBatch prepareOnHost(int b, ClipSource clips, RandomGenerator rng) throws IOException {
        int t = config.numFrames();
        int side = config.imgSize();
        int videoSize = 3 * t * side * side;
        int audioSize = config.audioFrames() * config.audioMelBins();
        float[] video = new float[b * videoSize];
        float[] audio = new float[b * audioSize];
        List<String> ids = new ArrayList<>(b);
        short[][] pcm = new short[b][];
        for (int i = 0; i < b; i++) {
            StoredClip c = clips.clip(i);
            ids.add(c.clipId());
            byte[] frames = cropping ? preprocessor.crop().apply(c.frames(), t, preprocessor.crop().sample(rng))
                    : c.frames();
            ClipTensors.normalizeFrames(frames, t, side, side, video, i * videoSize);
            pcm[i] = c.pcm();
        }
        TokenMask[] vm = new TokenMask[b];
        TokenMask[] am = new TokenMask[b];
        for (int i = 0; i < b; i++) {
            float gain = gainAugmentation ? KaldiFbank.sampleGain(rng) : 1f;
            float[] mel = fbank.modelInput(pcm[i], config.audioFrames(), gain);
            System.arraycopy(mel, 0, audio, i * audioSize, audioSize);
            vm[i] = videoMasks.next(rng);
            am[i] = audioMasks.next(rng);
        }
        return HostBatch.preprocessed(ids, config, video, audio, vm, am);
    }

    /**
     * The batch of in-memory clips in the given form (device form: into freshly allocated buffers).
     *
     * @param frames (T, H, W, 3) uint8 per clip at the stored geometry
     * @param pcm S samples per clip
     */
    public HostBatch prepare(List<String> clipIds, List<byte[]> frames, List<short[]> pcm, RandomGenerator rng,
            Preprocessing where) {
        int b = frames.size();
        if (clipIds.size() != b || pcm.size() != b) {
            throw new IllegalArgumentException(clipIds.size() + " clip ids, " + b + " frame tensors and " + pcm.size()
                    + " waveforms: one of each per clip");
        }
        ClipSource source = i -> new StoredClip(clipIds.get(i), null, frames.get(i), pcm.get(i), null);
        try {
            return where == Preprocessing.HOST ? prepareOnHost(b, source, rng)
                    : prepare(BatchBuffers.allocate(stored(), b), source, rng);
        } catch (IOException e) {
            throw new IllegalStateException("in-memory clips cannot fail to read", e);
        }
    }

    /**
     * {@link #prepare} then {@link HostBatch#toPretrainBatch}, on the calling thread, preprocessing where
     * {@link Preprocessing#forDevice} puts it for the manager's device; clips are named by their list index.
     */
    public PretrainBatch assemble(NDManager manager, List<byte[]> frames, List<short[]> pcm, RandomGenerator rng) {
        List<String> ids = IntStream.range(0, frames.size()).mapToObj(String::valueOf).toList();
        return prepare(ids, frames, pcm, rng, Preprocessing.forDevice(manager.getDevice())).toPretrainBatch(manager);
    }

    /** The clips of one batch, by index in the batch. */
    @FunctionalInterface
    public interface ClipSource {
        StoredClip clip(int i) throws IOException;
    }
}
