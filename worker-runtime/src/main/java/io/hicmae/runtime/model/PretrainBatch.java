package io.hicmae.runtime.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;

/**
 * One pre-training batch: inputs and masks, as index arrays in ascending token order.
 *
 * @param video (B, 3, T, H, W) ImageNet-normalised frames
 * @param audio (B, 1, time, mel) normalised fbank
 * @param videoVisible (B, Nv) int64 visible video token indices
 * @param videoMasked (B, Nm) int64 masked video token indices
 * @param audioVisible (B, Kv) int64
 * @param audioMasked (B, Km) int64
 */
public record PretrainBatch(
        NDArray video, NDArray audio, NDArray videoVisible, NDArray videoMasked, NDArray audioVisible,
        NDArray audioMasked) {

    public long size() {
        return video.getShape().get(0);
    }

    public NDList toList() {
        return new NDList(video, audio, videoVisible, videoMasked, audioVisible, audioMasked);
    }
}
