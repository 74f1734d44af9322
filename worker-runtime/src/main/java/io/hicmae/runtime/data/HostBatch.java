package io.hicmae.runtime.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.mask.TokenMask;
import io.hicmae.runtime.model.PretrainBatch;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A pre-training batch as the host prepares it, in one of two forms ({@link Preprocessing}):
 * <ul>
 *   <li>{@link Preprocessing#DEVICE}: the clips' stored uint8 frames and int16 PCM in reusable direct buffers
 *       ({@link BatchBuffers}) and the step's draws (one crop window, one gain per clip); {@link #toPretrainBatch}
 *       runs the preprocessing as engine operations on the step manager's device ({@link DevicePreprocessor}).
 *       A batch from a loader lends the loader's buffers: it is valid until {@link #release()}, which the loader
 *       calls on the next {@code next}, {@code seek} or {@code close}; using it after that throws.
 *   <li>{@link Preprocessing#HOST}: the model inputs already computed on the host ((B, 3, T, S, S) normalised frames,
 *       (B, 1, F, M) fbank, flattened); {@link #toPretrainBatch} only copies them into NDArrays. Owns its arrays.
 * </ul>
 * Both forms carry the two masks per clip.
 */
public final class HostBatch {

    private final List<String> clipIds;
    /** Device form (else null). */
    private final BatchBuffers buffers;
    private final MultiScaleCrop.Window[] windows;
    private final float[] gains;
    private final TokenMask[] videoMasks;
    private final TokenMask[] audioMasks;
    private final DevicePreprocessor preprocessor;
    /** Host form (else null): model inputs and their shapes. */
    private final float[] video;
    private final float[] audio;
    private final Shape videoShape;
    private final Shape audioShape;
    private volatile boolean released;

    /**
     * A batch in the {@link Preprocessing#DEVICE} form.
     *
     * @param clipIds the B clips' ids, in batch order
     * @param buffers the clips' frames and PCM, B clips at the preprocessor's stored geometry
     * @param windows B crop windows of the stored frames
     * @param gains B amplitude factors for the fbank (1 = no augmentation)
     * @param videoMasks B tube masks
     * @param audioMasks B random audio masks
     */
    public HostBatch(List<String> clipIds, BatchBuffers buffers, MultiScaleCrop.Window[] windows, float[] gains,
            TokenMask[] videoMasks, TokenMask[] audioMasks, DevicePreprocessor preprocessor) {
        this.clipIds = List.copyOf(clipIds);
        int b = this.clipIds.size();
        if (b == 0) {
            throw new IllegalArgumentException("a batch needs at least one clip");
        }
        if (buffers.clips() != b || windows.length != b || gains.length != b || videoMasks.length != b
                || audioMasks.length != b) {
            throw new IllegalArgumentException(b + " clips but buffers for " + buffers.clips() + ", "
                    + windows.length + " windows, " + gains.length + " gains, " + videoMasks.length
                    + " video and " + audioMasks.length + " audio masks");
        }
        if (!buffers.geometry().equals(preprocessor.stored())) {
            throw new IllegalArgumentException("buffers hold clips of " + buffers.geometry()
                    + " but the preprocessor takes " + preprocessor.stored());
        }
        this.buffers = buffers;
        this.windows = windows.clone();
        this.gains = gains.clone();
        this.videoMasks = videoMasks.clone();
        this.audioMasks = audioMasks.clone();
        this.preprocessor = preprocessor;
        this.video = null;
        this.audio = null;
        this.videoShape = null;
        this.audioShape = null;
    }

    private HostBatch(List<String> clipIds, HicmaeConfig config, float[] video, float[] audio, TokenMask[] videoMasks,
            TokenMask[] audioMasks) {
        this.clipIds = List.copyOf(clipIds);
        int b = this.clipIds.size();
        if (b == 0) {
            throw new IllegalArgumentException("a batch needs at least one clip");
        }
        this.videoShape = new Shape(b, 3, config.numFrames(), config.imgSize(), config.imgSize());
        this.audioShape = new Shape(b, 1, config.audioFrames(), config.audioMelBins());
        if (video.length != videoShape.size() || audio.length != audioShape.size()) {
            throw new IllegalArgumentException("video holds " + video.length + " floats and audio " + audio.length
                    + ", expected " + videoShape + " and " + audioShape);
        }
        if (videoMasks.length != b || audioMasks.length != b) {
            throw new IllegalArgumentException(videoMasks.length + " video and " + audioMasks.length
                    + " audio masks for " + b + " clips");
        }
        this.video = video;
        this.audio = audio;
        this.videoMasks = videoMasks.clone();
        this.audioMasks = audioMasks.clone();
        this.buffers = null;
        this.windows = null;
        this.gains = null;
        this.preprocessor = null;
    }

    /**
     * A batch in the {@link Preprocessing#HOST} form; the arrays are taken, not copied.
     *
     * @param video (B, 3, T, S, S) ImageNet-normalised frames, flattened
     * @param audio (B, 1, F, M) normalised fbank, flattened
     */
    public static HostBatch preprocessed(List<String> clipIds, HicmaeConfig config, float[] video, float[] audio,
            TokenMask[] videoMasks, TokenMask[] audioMasks) {
        return new HostBatch(clipIds, config, video, audio, videoMasks, audioMasks);
    }

    /** Where this batch's preprocessing runs (see the class comment). */
    public Preprocessing preprocessing() {
        return video != null ? Preprocessing.HOST : Preprocessing.DEVICE;
    }

    /** B. */
    public int size() {
        return clipIds.size();
    }

    public List<String> clipIds() {
        return clipIds;
    }

    /** The stored frames, (B, T, H, W, 3) uint8; a read-only view of the lent buffer (device form). */
    public ByteBuffer frameBuffer() {
        ensureDeviceForm("frameBuffer");
        ensureValid();
        return buffers.frames().asReadOnlyBuffer();
    }

    /** The PCM, (B, S) int16 little-endian; a read-only view of the lent buffer (device form). */
    public ByteBuffer pcmBuffer() {
        ensureDeviceForm("pcmBuffer");
        ensureValid();
        return buffers.pcm().asReadOnlyBuffer().order(buffers.pcm().order());
    }

    /** The lent buffers themselves (for tests of their reuse). */
    BatchBuffers buffers() {
        return buffers;
    }

    /** Bytes the batch holds: stored frames and PCM (device form), or model-input floats (host form). */
    public long bytes() {
        if (video != null) {
            return 4L * (video.length + audio.length);
        }
        return (long) size() * (buffers.geometry().frameBytes() + buffers.geometry().pcmBytes());
    }

    /** The crop windows drawn (device form). */
    public MultiScaleCrop.Window[] windows() {
        ensureDeviceForm("windows");
        return windows.clone();
    }

    /** The fbank gains drawn (device form). */
    public float[] gains() {
        ensureDeviceForm("gains");
        return gains.clone();
    }

    /** (B, 3, T, S, S) normalised frames, flattened (host form; shared, not copied). */
    public float[] video() {
        ensureHostForm("video");
        return video;
    }

    /** (B, 1, F, M) normalised fbank, flattened (host form; shared, not copied). */
    public float[] audio() {
        ensureHostForm("audio");
        return audio;
    }

    public TokenMask[] videoMasks() {
        return videoMasks.clone();
    }

    public TokenMask[] audioMasks() {
        return audioMasks.clone();
    }

    /** The batch as model inputs owned by {@code manager}, on its device; call on the thread that uses it. */
    public PretrainBatch toPretrainBatch(NDManager manager) {
        if (video == null) {
            ensureValid();
            return preprocessor.pretrainBatch(manager, this);
        }
        NDArray[] v = TokenMask.toArrays(manager, videoMasks);
        NDArray[] a = TokenMask.toArrays(manager, audioMasks);
        return new PretrainBatch(manager.create(video, videoShape), manager.create(audio, audioShape), v[1], v[2],
                a[1], a[2]);
    }

    /**
     * The same batch in buffers of its own, for a consumer that keeps it past the loader's next call (a host-form
     * batch owns its arrays already and is returned as it is).
     */
    public HostBatch copy() {
        if (video != null) {
            return this;
        }
        ensureValid();
        BatchBuffers own = BatchBuffers.allocate(buffers.geometry(), size());
        own.frames().put(frameBuffer());
        own.pcm().put(pcmBuffer());
        return new HostBatch(clipIds, own, windows, gains, videoMasks, audioMasks, preprocessor);
    }

    /** Hands the buffers back for reuse; later reads throw. Idempotent. */
    public void release() {
        if (!released && buffers != null) {
            released = true;
            buffers.release();
        }
    }

    private void ensureDeviceForm(String what) {
        if (video != null) {
            throw new IllegalStateException(what + " exists in the device form only; batch of clips "
                    + clipIds.get(0) + ".. was preprocessed on the host");
        }
    }

    private void ensureHostForm(String what) {
        if (video == null) {
            throw new IllegalStateException(what + " exists in the host form only; batch of clips " + clipIds.get(0)
                    + ".. is preprocessed on the device (toPretrainBatch)");
        }
    }

    private void ensureValid() {
        if (released) {
            throw new IllegalStateException("batch of clips " + clipIds.get(0) + ".. was released: a loader's batch "
                    + "is valid until the next call of next, seek or close");
        }
    }
}
