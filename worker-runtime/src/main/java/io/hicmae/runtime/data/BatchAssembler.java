package io.hicmae.runtime.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.mask.RandomMaskGenerator;
import io.hicmae.runtime.mask.TokenMask;
import io.hicmae.runtime.mask.TubeMaskGenerator;
import io.hicmae.runtime.model.PretrainBatch;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Turns stored clips into a pre-training batch: normalised frames, the fbank of the PCM with the random gain
 * augmentation, and one tube mask and one random audio mask per clip, all drawn from the given generator.
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

    /** frames: (T, H, W, 3) uint8 per clip at the config's geometry; pcm: 16 kHz mono per clip. */
    public PretrainBatch assemble(NDManager manager, List<byte[]> frames, List<short[]> pcm, RandomGenerator rng) {
        int b = frames.size();
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
        NDArray[] v = TokenMask.toArrays(manager, vm);
        NDArray[] a = TokenMask.toArrays(manager, am);
        return new PretrainBatch(
                manager.create(video, new Shape(b, 3, t, side, side)),
                manager.create(audio, new Shape(b, 1, config.audioFrames(), config.audioMelBins())),
                v[1], v[2], a[1], a[2]);
    }
}
