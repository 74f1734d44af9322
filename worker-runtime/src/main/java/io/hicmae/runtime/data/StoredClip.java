package io.hicmae.runtime.data;

/**
 * One clip as read from a shard, checked against its geometry.
 *
 * @param clipId the {@link ClipSchema#CLIP_ID}
 * @param frames (T, H, W, 3) uint8 RGB
 * @param pcm (S,) 16-bit samples
 */
public record StoredClip(String clipId, byte[] frames, short[] pcm) {}
