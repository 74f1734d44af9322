package io.hicmae.runtime.loss;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.nn.Tokens;

/**
 * The reconstruction targets of the authors' engine ({@code normlize_target=True}): per-patch normalised pixels
 * (mean and unbiased std + 1e-6, per channel for video) and, for video, the frame-difference target. Computed from
 * the inputs only, so they carry no gradient.
 */
public final class ReconstructionTargets {

    /** ImageNet statistics used by the data pipeline; the video target undoes them first. */
    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};

    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    private static final float EPS = 1e-6f;

    private ReconstructionTargets() {}

    /**
     * Normalised video patches of every token: video (B, 3, T, H, W) -> (B, N, t*p*p*3), each token laid out as
     * (frame-in-tubelet, row, col, channel).
     */
    public static NDArray videoAllPatches(HicmaeConfig c, NDArray video) {
        NDManager m = video.getManager();
        long b = video.getShape().get(0);
        int t = c.tubeletSize();
        int p = c.patchSize();
        int slices = c.videoSlices();
        int side = c.imgSize() / p;
        NDArray mean = m.create(IMAGENET_MEAN).reshape(1, 3, 1, 1, 1);
        NDArray std = m.create(IMAGENET_STD).reshape(1, 3, 1, 1, 1);
        NDArray pixels = video.mul(std).add(mean); // (B, 3, T, H, W) in [0, 1]
        NDArray tubes = pixels.reshape(b, 3, slices, t, side, p, side, p)
                .transpose(0, 2, 4, 6, 3, 5, 7, 1) // (B, T', H', W', t, p, p, 3)
                .reshape(b, (long) slices * side * side, (long) t * p * p, 3); // (B, N, t*p*p, 3)
        return normalize(tubes, 2).reshape(b, (long) slices * side * side, (long) t * p * p * 3);
    }

    /**
     * The frame-difference target: in each token's normalised tubelet, frame k > 0 is replaced by (frame k - frame
     * k-1); frame 0 stays. Input and output (B, N, t*p*p*3).
     */
    public static NDArray frameDifference(HicmaeConfig c, NDArray allPatches) {
        long b = allPatches.getShape().get(0);
        long n = allPatches.getShape().get(1);
        int t = c.tubeletSize();
        NDArray frames = allPatches.reshape(b, n, t, -1); // (B, N, t, p*p*3)
        NDArray first = frames.get(":, :, 0:1");
        NDArray diffs = frames.get(":, :, 1:").sub(frames.get(":, :, :-1"));
        return first.concat(diffs, 2).reshape(b, n, -1);
    }

    /** The video target at the masked tokens: (B, Nm, t*p*p*3); {@code frameDiff} as the release script. */
    public static NDArray video(HicmaeConfig c, NDArray video, NDArray maskedIndex, boolean frameDiff) {
        NDArray all = videoAllPatches(c, video);
        return Tokens.gather(frameDiff ? frameDifference(c, all) : all, maskedIndex);
    }

    /** Normalised audio patches of every token: audio (B, 1, time, mel) -> (B, K, p*p) laid out (time, mel). */
    public static NDArray audioAllPatches(HicmaeConfig c, NDArray audio) {
        long b = audio.getShape().get(0);
        int p = c.patchSizeAudio();
        int rows = c.audioFrames() / p;
        int cols = c.audioMelBins() / p;
        NDArray patches = audio.reshape(b, rows, p, cols, p)
                .transpose(0, 1, 3, 2, 4) // (B, rows, cols, p, p)
                .reshape(b, (long) rows * cols, (long) p * p);
        return normalize(patches, 2);
    }

    /** The audio target at the masked tokens: (B, Km, p*p). */
    public static NDArray audio(HicmaeConfig c, NDArray audio, NDArray maskedIndex) {
        return Tokens.gather(audioAllPatches(c, audio), maskedIndex);
    }

    /** (x - mean) / (unbiased std + 1e-6) along {@code axis}. */
    private static NDArray normalize(NDArray x, int axis) {
        long n = x.getShape().get(axis);
        NDArray centred = x.sub(x.mean(new int[] {axis}, true));
        NDArray std = centred.square().sum(new int[] {axis}, true).div(n - 1).sqrt();
        return centred.div(std.add(EPS));
    }
}
