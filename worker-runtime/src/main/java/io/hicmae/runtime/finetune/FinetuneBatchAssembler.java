package io.hicmae.runtime.finetune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;

import java.util.List;
import java.util.random.RandomGenerator;

/**
 * Turns stored clips ((T, H, W, 3) uint8 frames, by default H = W = the config's size S; 16 kHz PCM) into fine-tuning
 * inputs as the authors' loader does. Training: {@link VideoAugment} per clip, the fbank with the random gain
 * ({@code roll_mag_aug}, on by default in fine-tuning), then {@link Mixup} with label smoothing for classification
 * (regression targets pass unchanged).
 *
 * Evaluation: normalised frames resized to S x S ({@link VideoAugment#plain}) and the plain fbank.
 *
 * <p>Dimensions: B clips, T frames, H x W stored frame, S model side, Q classes, D regression dimensions.
 */
public final class FinetuneBatchAssembler {

    private final HicmaeConfig config;
    private final FinetuneOptions options;
    private final KaldiFbank fbank;
    private final VideoAugment augment;
    private final Mixup mixup;
    private final int height;
    private final int width;

    /** For clips stored at the config's frame size. */
    public FinetuneBatchAssembler(HicmaeConfig config, FinetuneOptions options) {
        this(config, options, config.imgSize(), config.imgSize());
    }

    /**
     * For clips stored at H x W (e.g. the dataset's 160 x 160 under a smaller test preset): the random resized crop
     * and the evaluation resize go from H x W to the config's size.
     */
    public FinetuneBatchAssembler(HicmaeConfig config, FinetuneOptions options, int height, int width) {
        this.height = height;
        this.width = width;
        this.config = config;
        this.options = options;
        this.fbank = new KaldiFbank(config.audioMelBins());
        this.augment = new VideoAugment(config.imgSize());
        this.mixup = new Mixup(options.mixup(), options.task().outputs(), options.smoothing());
    }

    /** A classification training batch: labels (B) in [0, Q); all randomness from {@code rng}. */
    public FinetuneBatch train(NDManager m, List<byte[]> frames, List<short[]> pcm, long[] labels, RandomGenerator rng,
            long dropPathSeed) {
        requireTask(true);
        NDList in = inputs(m, frames, pcm, rng);
        Mixup.Mixed mixed = mixup.apply(in.get(0), m.create(labels), rng);
        return new FinetuneBatch(mixed.video(), in.get(1), mixed.targets(), dropPathSeed);
    }

    /** A regression training batch: targets (B, D). */
    public FinetuneBatch trainRegression(NDManager m, List<byte[]> frames, List<short[]> pcm, float[][] targets,
            RandomGenerator rng, long dropPathSeed) {
        requireTask(false);
        NDList in = inputs(m, frames, pcm, rng);
        float[] flat = new float[targets.length * options.task().outputs()];
        for (int i = 0; i < targets.length; i++) {
            if (targets[i].length != options.task().outputs()) {
                throw new IllegalArgumentException("clip " + i + " has " + targets[i].length + " targets, expected "
                        + options.task().outputs());
            }
            System.arraycopy(targets[i], 0, flat, i * targets[i].length, targets[i].length);
        }
        return new FinetuneBatch(in.get(0), in.get(1),
                m.create(flat, new Shape(targets.length, options.task().outputs())), dropPathSeed);
    }

    /** Evaluation inputs [video (B, 3, T, S, S), audio (B, 1, time, mel)]: no augmentation, no gain. */
    public NDList evaluation(NDManager m, List<byte[]> frames, List<short[]> pcm) {
        return inputs(m, frames, pcm, null);
    }

    /** Augmented (rng given) or plain inputs. */
    private NDList inputs(NDManager m, List<byte[]> frames, List<short[]> pcm, RandomGenerator rng) {
        if (frames.size() != pcm.size()) {
            throw new IllegalArgumentException(frames.size() + " frame clips but " + pcm.size() + " audio clips");
        }
        int b = frames.size();
        int t = config.numFrames();
        int side = config.imgSize();
        int videoSize = 3 * t * side * side;
        int audioSize = config.audioFrames() * config.audioMelBins();
        float[] video = new float[b * videoSize];
        float[] audio = new float[b * audioSize];
        for (int i = 0; i < b; i++) {
            if (frames.get(i).length != t * height * width * 3) {
                throw new IllegalArgumentException("clip " + i + " holds " + frames.get(i).length + " frame bytes, "
                        + "expected " + t + "x" + height + "x" + width + "x3");
            }
            if (rng == null) {
                augment.plain(frames.get(i), t, height, width, video, i * videoSize);
            } else {
                augment.apply(frames.get(i), t, height, width, video, i * videoSize, rng);
            }
            float gain = rng == null ? 1f : KaldiFbank.sampleGain(rng);
            System.arraycopy(fbank.modelInput(pcm.get(i), config.audioFrames(), gain), 0, audio, i * audioSize,
                    audioSize);
        }
        NDArray v = m.create(video, new Shape(b, 3, t, side, side));
        NDArray a = m.create(audio, new Shape(b, 1, config.audioFrames(), config.audioMelBins()));
        return new NDList(v, a);
    }

    private void requireTask(boolean classification) {
        if (options.task().isClassification() != classification) {
            throw new IllegalStateException("the options are for " + options.task().kind() + "; use "
                    + (classification ? "trainRegression" : "train"));
        }
    }
}
