package io.hicmae.runtime.data;

/**
 * The stored shape of every clip in a dataset, which a reader checks each row's shape fields against.
 * {@link #STORED} is {@link ClipSchema}'s contract; tests use smaller geometries to stay fast.
 *
 * @param frames T
 * @param height H
 * @param width W
 * @param channels C
 * @param sampleRate audio sample rate in Hz
 * @param samples S, audio samples per clip
 */
public record ClipGeometry(int frames, int height, int width, int channels, int sampleRate, int samples) {

    /** The dataset contract: (16, 160, 160, 3) frames and 40,960 samples at 16 kHz. */
    public static final ClipGeometry STORED = new ClipGeometry(ClipSchema.FRAMES_PER_CLIP, ClipSchema.CROP_SIZE,
            ClipSchema.CROP_SIZE, ClipSchema.COLOR_CHANNELS, ClipSchema.AUDIO_SAMPLE_RATE, ClipSchema.SAMPLES_PER_CLIP);

    public ClipGeometry {
        positive("frames", frames);
        positive("height", height);
        positive("width", width);
        positive("sampleRate", sampleRate);
        positive("samples", samples);
        if (channels != ClipSchema.COLOR_CHANNELS) {
            throw new IllegalArgumentException("Invalid value " + channels + " for channels: clips are RGB, "
                    + ClipSchema.COLOR_CHANNELS);
        }
    }

    /** Size of the frames column: T * H * W * C. */
    public int frameBytes() {
        return frames * height * width * channels;
    }

    /** Size of the pcm column: 2 * S. */
    public int pcmBytes() {
        return samples * 2;
    }

    private static void positive(String name, int value) {
        if (value < 1) {
            throw new IllegalArgumentException("Invalid value " + value + " for " + name + ": must be at least 1");
        }
    }
}
