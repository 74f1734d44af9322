package io.hicmae.prep;

/** Why an input file yielded no clips. {@link #label()} is the value stored in the quarantine table. */
public enum QuarantineReason {
    /** FFmpeg could not open or probe the file: empty, truncated before the index, or not a media file. */
    UNREADABLE,
    /** The file has no video stream. */
    NO_VIDEO,
    /** The file has no audio stream. */
    NO_AUDIO,
    /** The video (or its audio) ends before the first window is complete. */
    TOO_SHORT,
    /** FFmpeg failed while decoding a stream that opened, or the stream is unusable (e.g. oversized frames). */
    DECODE_ERROR,
    /** Decoding, or copying the file to the executor, took longer than the per-video deadline. */
    TIMEOUT,
    /** Not a regular file: a directory, a device or pipe, or a symlink leading outside the input root. */
    NOT_A_FILE,
    /** The file could not be copied from its file system to the executor, or read there. */
    IO_ERROR,
    /** A frame is larger than the pixel limit ({@code max-pixels}), or the remote file than the copy limit. */
    TOO_LARGE,
    /** A task died while decoding this video (its executor crashed or was killed); the retry did not try again. */
    CRASHED;

    /** The lower-case name stored in the quarantine table, e.g. {@code too_short}. */
    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
