package io.hicmae.zoo.djl;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.translate.Batchifier;
import ai.djl.translate.Translator;
import ai.djl.translate.TranslatorContext;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipTensors;

/**
 * A clip to the {@code HicmaeEncoder} embedding, with the authors' evaluation preprocessing: frames /255 and
 * ImageNet-normalised, channel-first; Kaldi fbank of the PCM at gain 1 (no {@code roll_mag_aug}), cut or padded to
 * the config's audio frames and AudioSet-normalised. Stateless, so one instance serves every predictor.
 *
 * <p>Per clip: video (3, T, H, W), audio (1, time, mel); {@link Batchifier#STACK} adds B; output (4C).
 */
final class HicmaeTranslator implements Translator<HicmaeClip, float[]> {

    private final HicmaeConfig config;
    private final KaldiFbank fbank;

    HicmaeTranslator(HicmaeConfig config) {
        this.config = config;
        this.fbank = new KaldiFbank(config.audioMelBins());
    }

    @Override
    public NDList processInput(TranslatorContext ctx, HicmaeClip clip) {
        int frames = config.numFrames();
        int side = config.imgSize();
        if (clip.pcm16().length < KaldiFbank.FRAME_LENGTH) {
            throw new IllegalArgumentException("Invalid clip: " + clip.pcm16().length + " PCM samples, at least "
                    + KaldiFbank.FRAME_LENGTH + " (one 25 ms fbank frame at 16 kHz) are needed");
        }
        float[] video = new float[3 * frames * side * side];
        ClipTensors.normalizeFrames(clip.framesRgb(), frames, side, side, video, 0);
        float[] audio = fbank.modelInput(clip.pcm16(), config.audioFrames(), 1f);
        NDManager m = ctx.getNDManager();
        NDArray v = m.create(video, new Shape(3, frames, side, side)); // (3, T, H, W)
        NDArray a = m.create(audio, new Shape(1, config.audioFrames(), config.audioMelBins())); // (1, time, mel)
        return new NDList(v, a);
    }

    @Override
    public float[] processOutput(TranslatorContext ctx, NDList list) {
        return list.singletonOrThrow().toFloatArray(); // (4C)
    }

    @Override
    public Batchifier getBatchifier() {
        return Batchifier.STACK;
    }
}
