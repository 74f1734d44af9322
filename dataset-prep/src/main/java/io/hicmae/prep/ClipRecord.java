package io.hicmae.prep;

import io.hicmae.runtime.data.ClipSchema;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * One decoded clip: a window of one video, ready to become a row of the clip table (column names in {@link
 * ClipSchema}). The arrays are owned by the record and not copied; equality is by reference for them.
 *
 * @param clipId {@link #clipId(String, int)} of source and window
 * @param source the video's path relative to the input root, '/'-separated
 * @param window window index within the video
 * @param startS window start in seconds from the video's first frame
 * @param fps the source's average frame rate
 * @param frames (T, H, W, C) uint8 RGB, {@link ClipSchema#FRAME_BYTES} bytes
 * @param pcm (S,) s16le mono 16 kHz, {@link ClipSchema#PCM_BYTES} bytes
 */
public record ClipRecord(
        String clipId, String source, int window, double startS, double fps, byte[] frames, byte[] pcm) {

    public ClipRecord {
        if (frames.length != ClipSchema.FRAME_BYTES || pcm.length != ClipSchema.PCM_BYTES) {
            throw new IllegalArgumentException(
                    "Clip " + window + " of " + source + " has " + frames.length + " frame bytes and " + pcm.length
                            + " pcm bytes; expected " + ClipSchema.FRAME_BYTES + " and " + ClipSchema.PCM_BYTES);
        }
    }

    /**
     * The deterministic clip id: the first 16 bytes of SHA-256 over the UTF-8 source path, a NUL byte and the
     * decimal window index, as 32 lower-case hex digits. The same path and window always give the same id.
     */
    public static String clipId(String source, int window) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(source.getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(Integer.toString(window).getBytes(StandardCharsets.US_ASCII));
            return HexFormat.of().formatHex(sha.digest(), 0, 16);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
