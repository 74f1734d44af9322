package io.hicmae.runtime.data;

import io.hicmae.runtime.loss.ReconstructionTargets;

/**
 * Conversions from a stored clip (uint8 RGB frames, 16-bit PCM) to the model's input layout: frames become
 * channel-first (3, T, H, W) floats, divided by 255 and ImageNet-normalised, as the authors' data pipeline does.
 */
public final class ClipTensors {

    private ClipTensors() {}

    /**
     * Frames stored as (T, H, W, 3) uint8 -> (3, T, H, W) normalised floats written into {@code out} at
     * {@code offset}.
     */
    public static void normalizeFrames(byte[] rgb, int frames, int height, int width, float[] out, int offset) {
        int plane = frames * height * width;
        if (rgb.length != plane * 3) {
            throw new IllegalArgumentException("frames hold " + rgb.length + " bytes, expected " + frames + "x"
                    + height + "x" + width + "x3 = " + plane * 3);
        }
        float[] scale = new float[3];
        float[] shift = new float[3];
        for (int c = 0; c < 3; c++) {
            scale[c] = 1f / (255f * ReconstructionTargets.IMAGENET_STD[c]);
            shift[c] = ReconstructionTargets.IMAGENET_MEAN[c] / ReconstructionTargets.IMAGENET_STD[c];
        }
        for (int i = 0; i < plane; i++) {
            for (int c = 0; c < 3; c++) {
                out[offset + c * plane + i] = (rgb[i * 3 + c] & 0xff) * scale[c] - shift[c];
            }
        }
    }
}
