package io.hicmae.prep;

import io.hicmae.runtime.data.ClipSchema;
import java.io.Serializable;

/**
 * Which windows a video yields and which instants each window samples, on the authors' pre-training grid: a window
 * spans {@link ClipSchema#WINDOW_FRAMES} frames at {@link ClipSchema#REFERENCE_FPS} (2.56 s) and samples every
 * {@link ClipSchema#FRAME_STRIDE}th of them, {@link ClipSchema#FRAMES_PER_CLIP} in all. Window w starts at frame
 * {@code w * windowStride} of the reference grid.
 *
 * <p>All times are microseconds from the video's first frame. Sources at other frame rates are sampled by time: the
 * frame shown at a sample instant is the last one whose timestamp is at most that instant (plus {@link
 * #TOLERANCE_US}).
 *
 * @param windowStride reference frames between the starts of consecutive windows; {@link
 *     ClipSchema#WINDOW_FRAMES} gives non-overlapping windows
 */
public record ClipSampler(int windowStride) implements Serializable {

    /** Non-overlapping windows, as the issue asks for by default. */
    public static final ClipSampler NON_OVERLAPPING = new ClipSampler(ClipSchema.WINDOW_FRAMES);

    /** Slack when comparing a frame's timestamp with a sample instant, for containers that round timestamps. */
    public static final long TOLERANCE_US = 1_000;

    public ClipSampler {
        if (windowStride < 1) {
            throw new IllegalArgumentException(
                    "Invalid value " + windowStride + " for configuration window-stride: must be at least 1");
        }
    }

    /** Time of reference frame {@code frame}, rounded down to a microsecond. */
    private static long frameMicros(long frame) {
        return frame * 1_000_000L / ClipSchema.REFERENCE_FPS;
    }

    /** Start of window {@code window}. */
    public long windowStartMicros(int window) {
        return frameMicros((long) window * windowStride);
    }

    /** Instant of sampled frame {@code k} (0 .. T-1) of window {@code window}. */
    public long sampleMicros(int window, int k) {
        return frameMicros((long) window * windowStride + (long) k * ClipSchema.FRAME_STRIDE);
    }

    /**
     * Instant of the window's last reference frame: a video covers the window once it has a frame at or after this
     * instant. A 25 fps video of exactly 64 frames therefore yields one window.
     */
    public long lastFrameMicros(int window) {
        return frameMicros((long) window * windowStride + ClipSchema.WINDOW_FRAMES - 1);
    }

    /** First audio sample of the window, counted from the first frame at {@link ClipSchema#AUDIO_SAMPLE_RATE}. */
    public long audioStartSample(int window) {
        return (long) window * windowStride * ClipSchema.AUDIO_SAMPLE_RATE / ClipSchema.REFERENCE_FPS;
    }

    /** Windows in a video of {@code frames} reference frames: 0 when shorter than one window. */
    public int windowCount(long frames) {
        return frames < ClipSchema.WINDOW_FRAMES ? 0 : (int) ((frames - ClipSchema.WINDOW_FRAMES) / windowStride + 1);
    }
}
