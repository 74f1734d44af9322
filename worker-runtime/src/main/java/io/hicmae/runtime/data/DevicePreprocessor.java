package io.hicmae.runtime.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.audio.DeviceFbank;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.loss.ReconstructionTargets;
import io.hicmae.runtime.mask.TokenMask;
import io.hicmae.runtime.model.PretrainBatch;

/**
 * Turns a {@link HostBatch} (stored uint8 frames, int16 PCM, the drawn crop windows, gains and masks) into the
 * model's {@link PretrainBatch} with batched engine operations on the step manager's device: the multi-scale crop
 * and resize ({@link DeviceCrop}), uint8 to float, ImageNet normalisation, the Kaldi fbank with the gain
 * augmentation ({@link DeviceFbank}), and the masks as index arrays. (The reconstruction targets are computed from
 * the batch by the loss, on the same device.) The host hands over raw bytes only (PCM as uint8 byte pairs: DJL 0.36's
 * PyTorch engine has no int16 arrays); on the CPU device the engine reads
 * them in place from the batch's direct buffers, on a GPU it copies them to the device (DJL 0.36 offers no pinned
 * host memory, so that copy is from pageable memory).
 *
 * <p>Immutable and thread-safe; every array it leaves belongs to the manager passed in, and no array it returns
 * aliases the host batch's buffers.
 */
public final class DevicePreprocessor {

    private final HicmaeConfig config;
    private final ClipGeometry stored;
    private final DeviceCrop crop;
    private final DeviceFbank fbank;
    private final float[] scale = new float[3];
    private final float[] shift = new float[3];

    /**
     * @param config the model: frame count and side, fbank frames and mel bins
     * @param stored the host batches' frame and audio geometry
     */
    public DevicePreprocessor(HicmaeConfig config, ClipGeometry stored) {
        if (stored.frames() != config.numFrames()) {
            throw new IllegalArgumentException("clips hold " + stored.frames() + " frames but model " + config.name()
                    + " takes numFrames = " + config.numFrames());
        }
        if (stored.sampleRate() != KaldiFbank.SAMPLE_RATE || stored.samples() < KaldiFbank.FRAME_LENGTH) {
            throw new IllegalArgumentException("clips hold " + stored.samples() + " samples at "
                    + stored.sampleRate() + " Hz; the fbank needs at least " + KaldiFbank.FRAME_LENGTH + " at "
                    + KaldiFbank.SAMPLE_RATE);
        }
        this.config = config;
        this.stored = stored;
        this.crop = new DeviceCrop(stored.width(), stored.height(), config.imgSize());
        this.fbank = new DeviceFbank(config.audioMelBins());
        for (int c = 0; c < 3; c++) {
            scale[c] = 1f / (255f * ReconstructionTargets.IMAGENET_STD[c]);
            shift[c] = ReconstructionTargets.IMAGENET_MEAN[c] / ReconstructionTargets.IMAGENET_STD[c];
        }
    }

    public HicmaeConfig config() {
        return config;
    }

    /** The stored geometry the host batches must have. */
    public ClipGeometry stored() {
        return stored;
    }

    /** The crop whose windows the host draws. */
    public MultiScaleCrop crop() {
        return crop.crop();
    }

    /** The batch as model inputs on {@code manager}'s device; call on the thread that uses the manager. */
    public PretrainBatch pretrainBatch(NDManager manager, HostBatch host) {
        int b = host.size();
        NDArray video;
        NDArray audio;
        try (NDManager scope = manager.newSubManager()) {
            NDArray frames = scope.create(host.frameBuffer(), new Shape(b, stored.frames(), stored.height(),
                    stored.width(), 3), DataType.UINT8);
            NDArray pcm = scope.create(host.pcmBuffer(), new Shape(b, stored.pcmBytes()), DataType.UINT8);
            video = normalise(scope, crop.apply(scope, frames, host.windows()));
            audio = fbank.fromPcm(scope, pcm, scope.create(host.gains()), config.audioFrames());
            video.attach(manager);
            audio.attach(manager);
        }
        NDArray[] v = TokenMask.toArrays(manager, host.videoMasks());
        NDArray[] a = TokenMask.toArrays(manager, host.audioMasks());
        return new PretrainBatch(video, audio, v[1], v[2], a[1], a[2]);
    }

    /**
     * (B, T, S, S, 3) pixel values 0..255 -> (B, 3, T, S, S) ImageNet-normalised, {@code x * (1 / (255 std)) -
     * mean / std} in fp32 per channel (two roundings, as {@link ClipTensors#normalizeFrames}).
     */
    private NDArray normalise(NDManager m, NDArray pixels) {
        Shape channel = new Shape(1, 3, 1, 1, 1);
        return pixels.transpose(0, 4, 1, 2, 3).mul(m.create(scale, channel)).sub(m.create(shift, channel));
    }
}
