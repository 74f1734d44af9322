package io.hicmae.runtime.data;

/**
 * One clip as read from a shard, checked against its geometry.
 *
 * @param clipId the {@link ClipSchema#CLIP_ID}
 * @param source the {@link ClipSchema#SOURCE}: the video the clip was cut from; clips of one video share it
 * @param frames (T, H, W, 3) uint8 RGB
 * @param pcm (S,) 16-bit samples
 * @param labels the video's labels, or null in an unlabelled (or version-1) dataset
 */
public record StoredClip(String clipId, String source, byte[] frames, short[] pcm, ClipLabels labels) {}
