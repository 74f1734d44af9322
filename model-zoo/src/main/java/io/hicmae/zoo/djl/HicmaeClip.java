package io.hicmae.zoo.djl;

import java.util.Objects;

/**
 * One clip as the clip dataset stores it: the input of the {@link HicmaeZooModels} predictors.
 *
 * <p>Dimensions: T frames, H and W the frame height and width (the model config's {@code num_frames} and
 * {@code img_size}: 16, 160 and 160 for the released sizes), S audio samples.
 *
 * @param framesRgb uint8 RGB frames, (T, H, W, 3) row-major: the byte of frame t, row y, column x, channel c is at
 *     {@code ((t * H + y) * W + x) * 3 + c}
 * @param pcm16 16 kHz mono signed 16-bit samples, (S,), at least 400 (one fbank frame); the fbank is cut or
 *     zero-padded to the config's audio frames, so a stored clip's 40,960 samples give 256 frames
 */
public record HicmaeClip(byte[] framesRgb, short[] pcm16) {
    public HicmaeClip {
        Objects.requireNonNull(framesRgb, "framesRgb");
        Objects.requireNonNull(pcm16, "pcm16");
    }
}
