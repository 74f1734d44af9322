package io.hicmae.prep;

import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameGrabber;
import org.bytedeco.javacv.FFmpegFrameRecorder;

/** Loads JavaCV's FFmpeg natives once, with an error that says what to install when they fail to load. */
public final class FfmpegNatives {

    private static boolean loaded;

    private FfmpegNatives() {}

    /**
     * Loads the natives for decoding and encoding and quiets FFmpeg's log to errors.
     *
     * @throws IllegalStateException when a native library is missing; this is a broken machine, never a broken
     *     video, so callers let it fail the job
     */
    public static synchronized void ensureLoaded() {
        if (loaded) {
            return;
        }
        try {
            FFmpegFrameGrabber.tryLoad();
            FFmpegFrameRecorder.tryLoad();
        } catch (Exception e) {
            Throwable root = e;
            while (root.getCause() != null) {
                root = root.getCause();
            }
            throw new IllegalStateException(
                    "FFmpeg natives (org.bytedeco:ffmpeg linux-x86_64) failed to load: " + root.getMessage()
                            + ". JavaCV also loads libavdevice, which needs the system's libpulse.so.0;"
                            + " on Debian or Ubuntu: apt-get install libpulse0",
                    e);
        }
        avutil.av_log_set_level(avutil.AV_LOG_ERROR);
        loaded = true;
    }
}
