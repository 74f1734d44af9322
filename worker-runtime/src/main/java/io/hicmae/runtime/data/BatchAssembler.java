package io.hicmae.runtime.data;

import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.mask.RandomMaskGenerator;
import io.hicmae.runtime.mask.TokenMask;
import io.hicmae.runtime.mask.TubeMaskGenerator;
import io.hicmae.runtime.model.PretrainBatch;

import java.util.List;
import java.util.random.RandomGenerator;
import java.util.stream.IntStream;

/**
 * Turns stored clips into a pre-training batch: normalised frames, the fbank of the PCM with the random gain
 * augmentation, and one tube mask and one random audio mask per clip, all drawn from the given generator. The host
 * part ({@link #prepare}) needs no engine, so a loader thread can run it; immutable and thread-safe.
 */
public final class BatchAssembler {

    private final HicmaeConfig config;
    private final KaldiFbank fbank;
    private final TubeMaskGenerator videoMasks;
    private final RandomMaskGenerator audioMasks;
    private final boolean gainAugmentation;

    /** @param gainAugmentation upstream's {@code roll_mag_aug} (on in pre-training) */
    public BatchAssembler(HicmaeConfig config, boolean gainAugmentation) {
        this.config = config;
        this.fbank = new KaldiFbank(config.audioMelBins());
        this.videoMasks = new TubeMaskGenerator(config.videoSlices(), config.videoPatchesPerFrame(),
                config.maskRatioVideo());
        this.audioMasks = new RandomMaskGenerator(config.audioTokens(), config.maskRatioAudio());
        this.gainAugmentation = gainAugmentation;
    }

    /**
     * The batch in host arrays: for each clip in order, its frames normalised, a gain drawn (when augmenting) and its
     * fbank computed, then a tube mask and an audio mask drawn from {@code rng}.
     *
     * @param clipIds one id per clip
     * @param frames (T, H, W, 3) uint8 per clip at the config's geometry
     * @param pcm 16 kHz mono per clip
     */
    public HostBatch prepare(List<String> clipIds, List<byte[]> frames, List<short[]> pcm, RandomGenerator rng) {
        int b = frames.size();
        if (clipIds.size() != b || pcm.size() != b) {
            throw new IllegalArgumentException(clipIds.size() + " clip ids, " + b + " frame tensors and " + pcm.size()
                    + " waveforms: one of each per clip");
        }
        int t = config.numFrames();
        int side = config.imgSize();
        int videoSize = 3 * t * side * side;
        int audioSize = config.audioFrames() * config.audioMelBins();
        float[] video = new float[b * videoSize];
        float[] audio = new float[b * audioSize];
        TokenMask[] vm = new TokenMask[b];
        TokenMask[] am = new TokenMask[b];
        for (int i = 0; i < b; i++) {
            ClipTensors.normalizeFrames(frames.get(i), t, side, side, video, i * videoSize);
            float gain = gainAugmentation ? KaldiFbank.sampleGain(rng) : 1f;
            float[] mel = fbank.modelInput(pcm.get(i), config.audioFrames(), gain);
            System.arraycopy(mel, 0, audio, i * audioSize, audioSize);
            vm[i] = videoMasks.next(rng);
            am[i] = audioMasks.next(rng);
        }
        return new HostBatch(clipIds, t, side, config.audioFrames(), config.audioMelBins(), video, audio, vm, am);
    }

    /**
     * {@link #prepare} then {@link HostBatch#toPretrainBatch}, on the calling thread; clips are named by their list
     * index.
     */
    public PretrainBatch assemble(NDManager manager, List<byte[]> frames, List<short[]> pcm, RandomGenerator rng) {
        List<String> ids = IntStream.range(0, frames.size()).mapToObj(String::valueOf).toList();
        return prepare(ids, frames, pcm, rng).toPretrainBatch(manager);
    }
}
