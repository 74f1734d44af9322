package io.hicmae.prep;

import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacpp.Loader;

/**
 * Loads the FFmpeg libraries that decoding and encoding need (avutil, swresample, avcodec, avformat, swscale from
 * the {@code org.bytedeco:ffmpeg} jar) once, and never libavdevice: that one links the system's libpulse, libasound
 * and libxcb, which a machine with only a JDK lacks. Nothing here may touch JavaCV's {@code FFmpegFrameGrabber} or
 * {@code FFmpegFrameRecorder}: their static initialisers load libavdevice.
 */
public final class FfmpegNatives {

    /** The libraries loaded, in load order (each links only those before it and the C runtime). */
    static final Class<?>[] LIBRARIES = {
        avutil.class,
        org.bytedeco.ffmpeg.global.swresample.class,
        org.bytedeco.ffmpeg.global.avcodec.class,
        org.bytedeco.ffmpeg.global.avformat.class,
        org.bytedeco.ffmpeg.global.swscale.class,
    };

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
        for (Class<?> library : LIBRARIES) {
            try {
                Loader.load(library);
            } catch (Throwable e) { // UnsatisfiedLinkError, or an error extracting the natives
                Throwable root = e;
                while (root.getCause() != null) {
                    root = root.getCause();
                }
                throw new IllegalStateException("FFmpeg natives (org.bytedeco:ffmpeg linux-x86_64) failed to load: "
                        + library.getSimpleName() + ": " + root.getMessage(), e);
            }
        }
        avutil.av_log_set_level(avutil.AV_LOG_ERROR);
        loaded = true;
    }
}
