package io.hicmae.runtime.data;

import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.mask.TokenMask;
import io.hicmae.runtime.model.PretrainBatch;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A pre-training batch as the host prepares it: the clips' stored uint8 frames and int16 PCM in reusable direct
 * buffers ({@link BatchBuffers}), and the random draws of the step (one crop window, one gain and two masks per
 * clip). No pixel or sample is converted on the host: {@link #toPretrainBatch} runs the preprocessing as engine
 * operations on the step manager's device ({@link DevicePreprocessor}).
 *
 * <p>A batch from a loader lends the loader's buffers: it is valid until {@link #release()}, which the loader calls
 * on the next {@code next}, {@code seek} or {@code close}; using it after that throws.
 */
public final class HostBatch {

    private final List<String> clipIds;
    private final BatchBuffers buffers;
    private final MultiScaleCrop.Window[] windows;
    private final float[] gains;
    private final TokenMask[] videoMasks;
    private final TokenMask[] audioMasks;
    private final DevicePreprocessor preprocessor;
    private volatile boolean released;

    /**
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
    }

    /** B. */
    public int size() {
        return clipIds.size();
    }

    public List<String> clipIds() {
        return clipIds;
    }

    /** The stored frames, (B, T, H, W, 3) uint8; a read-only view of the lent buffer. */
    public ByteBuffer frameBuffer() {
        ensureValid();
        return buffers.frames().asReadOnlyBuffer();
    }

    /** The PCM, (B, S) int16 little-endian; a read-only view of the lent buffer. */
    public ByteBuffer pcmBuffer() {
        ensureValid();
        return buffers.pcm().asReadOnlyBuffer().order(buffers.pcm().order());
    }

    /** The lent buffers themselves (for tests of their reuse). */
    BatchBuffers buffers() {
        return buffers;
    }

    /** Bytes of frames and PCM the batch holds. */
    public long bytes() {
        return (long) size() * (buffers.geometry().frameBytes() + buffers.geometry().pcmBytes());
    }

    public MultiScaleCrop.Window[] windows() {
        return windows.clone();
    }

    public float[] gains() {
        return gains.clone();
    }

    public TokenMask[] videoMasks() {
        return videoMasks.clone();
    }

    public TokenMask[] audioMasks() {
        return audioMasks.clone();
    }

    /** The batch as model inputs owned by {@code manager}, on its device; call on the thread that uses it. */
    public PretrainBatch toPretrainBatch(NDManager manager) {
        ensureValid();
        return preprocessor.pretrainBatch(manager, this);
    }

    /** The same batch in buffers of its own, for a consumer that keeps it past the loader's next call. */
    public HostBatch copy() {
        ensureValid();
        BatchBuffers own = BatchBuffers.allocate(buffers.geometry(), size());
        own.frames().put(frameBuffer());
        own.pcm().put(pcmBuffer());
        return new HostBatch(clipIds, own, windows, gains, videoMasks, audioMasks, preprocessor);
    }

    /** Hands the buffers back for reuse; later reads throw. Idempotent. */
    public void release() {
        if (!released) {
            released = true;
            buffers.release();
        }
    }

    private void ensureValid() {
        if (released) {
            throw new IllegalStateException("batch of clips " + clipIds.get(0) + ".. was released: a loader's batch "
                    + "is valid until the next call of next, seek or close");
        }
    }
}
