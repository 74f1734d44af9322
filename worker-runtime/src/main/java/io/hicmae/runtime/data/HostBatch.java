package io.hicmae.runtime.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.mask.TokenMask;
import io.hicmae.runtime.model.PretrainBatch;

import java.util.List;

/**
 * A pre-training batch in plain Java arrays, prepared off the training thread; {@link #toPretrainBatch} makes the
 * NDArrays on the thread that owns the step's manager (NDManagers are not thread-safe). Arrays are shared, not copied.
 *
 * <p>Dimension letters: B clips, T frames, S frame side, F fbank frames, M mel bins.
 *
 * @param clipIds the B clips' ids, in batch order
 * @param frames T
 * @param side S
 * @param audioFrames F
 * @param melBins M
 * @param video (B, 3, T, S, S) ImageNet-normalised frames, flattened
 * @param audio (B, 1, F, M) normalised fbank, flattened
 * @param videoMasks B tube masks
 * @param audioMasks B random audio masks
 */
public record HostBatch(List<String> clipIds, int frames, int side, int audioFrames, int melBins, float[] video,
        float[] audio, TokenMask[] videoMasks, TokenMask[] audioMasks) {

    /** Checks that every array holds B samples of the stated shape. */
    public HostBatch {
        clipIds = List.copyOf(clipIds);
        int b = clipIds.size();
        if (b == 0) {
            throw new IllegalArgumentException("a batch needs at least one clip");
        }
        if (video.length != (long) b * 3 * frames * side * side) {
            throw new IllegalArgumentException("video holds " + video.length + " floats, expected " + b + "x3x"
                    + frames + "x" + side + "x" + side);
        }
        if (audio.length != (long) b * audioFrames * melBins) {
            throw new IllegalArgumentException("audio holds " + audio.length + " floats, expected " + b + "x1x"
                    + audioFrames + "x" + melBins);
        }
        if (videoMasks.length != b || audioMasks.length != b) {
            throw new IllegalArgumentException(videoMasks.length + " video and " + audioMasks.length
                    + " audio masks for " + b + " clips");
        }
    }

    /** B. */
    public int size() {
        return clipIds.size();
    }

    /** The batch as NDArrays owned by {@code manager}; call on the thread that uses the manager. */
    public PretrainBatch toPretrainBatch(NDManager manager) {
        int b = size();
        NDArray[] v = TokenMask.toArrays(manager, videoMasks);
        NDArray[] a = TokenMask.toArrays(manager, audioMasks);
        return new PretrainBatch(
                manager.create(video, new Shape(b, 3, frames, side, side)),
                manager.create(audio, new Shape(b, 1, audioFrames, melBins)),
                v[1], v[2], a[1], a[2]);
    }
}
