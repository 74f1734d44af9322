package io.hicmae.runtime.finetune;

import io.hicmae.runtime.stats.Beta;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.loss.SoftTargetCrossEntropy;

import java.util.random.RandomGenerator;

/**
 * The authors' {@code mixup.py} (timm's {@code Mixup}) in its {@code mode='batch'}: one draw per batch; with
 * probability {@code prob} the batch is mixed, by cutmix with probability {@code switchProb} (when both are on)
 * and otherwise by mixup, with lam ~ Beta(alpha, alpha) of the chosen method. Clip i is paired with clip B-1-i (the
 * batch flipped). Only the video tensor is mixed; the audio is not (spec §10). Targets become
 * {@code lam * smooth(y) + (1 - lam) * smooth(flip(y))}.
 *
 * <p>Cutmix cuts one box out of every frame and channel ({@code x[..., top:bottom, left:right]}): a square of side
 * {@code int(side * sqrt(1 - lam))} centred at a uniform pixel, clipped to the frame, after which lam is corrected to
 * the kept fraction of the frame ({@code correct_lam}).
 *
 * <p>Dimensions: B clips (even when mixing is on), T frames, H x W pixels, Q classes.
 */
public final class Mixup {

    /**
     * @param mixupAlpha Beta parameter of mixup; 0 turns mixup off (upstream 0.8)
     * @param cutmixAlpha Beta parameter of cutmix; 0 turns cutmix off (upstream 1.0)
     * @param prob probability that a batch is mixed at all (upstream 1.0)
     * @param switchProb probability of cutmix rather than mixup when both are on (upstream 0.5)
     */
    public record Settings(double mixupAlpha, double cutmixAlpha, double prob, double switchProb) {
        public Settings {
            if (!(mixupAlpha >= 0)) {
                throw invalid("mixup", mixupAlpha, "must be at least 0 (0 turns mixup off)");
            }
            if (!(cutmixAlpha >= 0)) {
                throw invalid("cutmix", cutmixAlpha, "must be at least 0 (0 turns cutmix off)");
            }
            if (!(prob >= 0 && prob <= 1)) {
                throw invalid("mixup-prob", prob, "must be in [0, 1]");
            }
            if (!(switchProb >= 0 && switchProb <= 1)) {
                throw invalid("mixup-switch-prob", switchProb, "must be in [0, 1]");
            }
        }

        /** The release fine-tuning scripts' values (timm defaults): mixup 0.8, cutmix 1.0, prob 1, switch 0.5. */
        public static Settings upstream() {
            return new Settings(0.8, 1.0, 1.0, 0.5);
        }

        /** No mixing: targets are the smoothed one-hot labels. */
        public static Settings off() {
            return new Settings(0, 0, 1.0, 0.5);
        }

        public boolean enabled() {
            return mixupAlpha > 0 || cutmixAlpha > 0;
        }
    }

    /**
     * One batch's draw.
     *
     * @param lam weight of each clip's own content and label (1: no mixing)
     * @param cutmix whether the box below is pasted (otherwise the whole clips are blended)
     * @param top first row of the box
     * @param bottom row after the box
     * @param left first column of the box
     * @param right column after the box
     */
    public record Draw(double lam, boolean cutmix, int top, int bottom, int left, int right) {
        static final Draw NONE = new Draw(1.0, false, 0, 0, 0, 0);
    }

    /**
     * A mixed batch.
     *
     * @param video (B, 3, T, H, W), mixed
     * @param targets (B, Q) soft targets
     * @param draw what was drawn
     */
    public record Mixed(NDArray video, NDArray targets, Draw draw) {}

    private final Settings settings;
    private final int classes;
    private final float smoothing;

    public Mixup(Settings settings, int classes, float smoothing) {
        this.settings = settings;
        this.classes = classes;
        this.smoothing = smoothing;
    }

    /** timm's {@code _params_per_batch} and, for cutmix, {@code cutmix_bbox_and_lam} on an H x W frame. */
    public Draw draw(int height, int width, RandomGenerator rng) {
        if (!settings.enabled() || !(rng.nextDouble() < settings.prob())) {
            return Draw.NONE;
        }
        boolean cutmix;
        double lam;
        if (settings.mixupAlpha() > 0 && settings.cutmixAlpha() > 0) {
            cutmix = rng.nextDouble() < settings.switchProb();
            lam = Beta.sample(cutmix ? settings.cutmixAlpha() : settings.mixupAlpha(), rng);
        } else {
            cutmix = settings.cutmixAlpha() > 0;
            lam = Beta.sample(cutmix ? settings.cutmixAlpha() : settings.mixupAlpha(), rng);
        }
        if (!cutmix) {
            return new Draw(lam, false, 0, 0, 0, 0);
        }
        double ratio = Math.sqrt(1 - lam);
        int cutH = (int) (height * ratio);
        int cutW = (int) (width * ratio);
        int cy = rng.nextInt(height);
        int cx = rng.nextInt(width);
        int top = clip(cy - cutH / 2, height);
        int bottom = clip(cy + cutH / 2, height);
        int left = clip(cx - cutW / 2, width);
        int right = clip(cx + cutW / 2, width);
        double corrected = 1.0 - (double) (bottom - top) * (right - left) / ((double) height * width);
        return new Draw(corrected, true, top, bottom, left, right);
    }

    /**
     * Mixes a batch: video (B, 3, T, H, W) and int64 labels (B) -> mixed video and soft targets (B, Q), in the
     * video's manager.
     *
     * @throws IllegalArgumentException if mixing is on and B is odd (upstream asserts an even batch)
     */
    public Mixed apply(NDArray video, NDArray labels, RandomGenerator rng) {
        Shape s = video.getShape();
        if (s.dimension() != 5) {
            throw new IllegalArgumentException("video has shape " + s + ", expected (B, 3, T, H, W)");
        }
        long b = s.get(0);
        if (labels.getShape().dimension() != 1 || labels.getShape().get(0) != b) {
            throw new IllegalArgumentException("labels have shape " + labels.getShape() + ", expected (" + b + ")");
        }
        if (settings.enabled() && b % 2 != 0) {
            throw new IllegalArgumentException("Invalid value " + b
                    + " for configuration local batch size: mixup pairs clip i with clip B-1-i, so it must be even");
        }
        NDArray own = SoftTargetCrossEntropy.smoothTargets(labels, classes, smoothing); // (B, Q)
        Draw d = draw((int) s.get(3), (int) s.get(4), rng);
        if (d.lam() == 1.0) {
            return new Mixed(video, own, d);
        }
        NDArray flipped = video.flip(0); // (B, 3, T, H, W)
        NDArray mixed;
        if (d.cutmix()) {
            float[] box = new float[(int) (s.get(3) * s.get(4))];
            for (int y = d.top(); y < d.bottom(); y++) {
                for (int x = d.left(); x < d.right(); x++) {
                    box[(int) (y * s.get(4) + x)] = 1f;
                }
            }
            NDArray inBox = video.getManager().create(box, new Shape(1, 1, 1, s.get(3), s.get(4)))
                    .toType(video.getDataType(), false); // (1, 1, 1, H, W)
            mixed = video.mul(inBox.neg().add(1)).add(flipped.mul(inBox));
        } else {
            mixed = video.mul(d.lam()).add(flipped.mul(1 - d.lam()));
        }
        NDArray targets = own.mul(d.lam()).add(own.flip(0).mul(1 - d.lam())); // (B, Q)
        return new Mixed(mixed, targets.toType(DataType.FLOAT32, false), d);
    }

    private static int clip(int v, int max) {
        return Math.max(0, Math.min(max, v));
    }

    private static IllegalArgumentException invalid(String key, double value, String reason) {
        return new IllegalArgumentException("Invalid value " + value + " for configuration " + key + ": " + reason);
    }
}
