package io.hicmae.runtime.finetune;

import ai.djl.ndarray.NDArray;

/**
 * One fine-tuning batch as the model and loss take it (after augmentation and mixup).
 *
 * @param video (B, 3, T, H, W) ImageNet-normalised frames
 * @param audio (B, 1, time, mel) normalised fbank
 * @param targets (B, Q) soft class targets (rows sum to 1) for classification, (B, D) float targets for regression
 * @param dropPathSeed seeds this batch's stochastic-depth masks; derive it from (run seed, step, rank) like the
 *     batch's other randomness, so a resumed run draws the same masks
 */
public record FinetuneBatch(NDArray video, NDArray audio, NDArray targets, long dropPathSeed) {

    public long size() {
        return video.getShape().get(0);
    }
}
