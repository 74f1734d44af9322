package io.hicmae.runtime.train;

import io.hicmae.runtime.loss.PretrainLoss;

/**
 * A step's loss terms copied out of the step's arrays, so they outlive its NDManager.
 *
 * @param total the optimised loss
 * @param video video reconstruction MSE
 * @param audio audio reconstruction MSE
 * @param contrastive the unweighted sum of the layer terms
 * @param contrastiveLayers one term per exported layer
 */
public record StepLosses(float total, float video, float audio, float contrastive, float[] contrastiveLayers) {

    static StepLosses of(PretrainLoss loss) {
        float[] layers = new float[loss.layers().size()];
        for (int k = 0; k < layers.length; k++) {
            layers[k] = loss.layers().get(k).term().getFloat();
        }
        return new StepLosses(loss.total().getFloat(), loss.video().getFloat(), loss.audio().getFloat(),
                loss.contrastive().getFloat(), layers);
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder(String.format(
                "loss %.4f (video %.4f, audio %.4f, contrastive %.4f [", total, video, audio, contrastive));
        for (int k = 0; k < contrastiveLayers.length; k++) {
            s.append(k == 0 ? "" : " ").append(String.format("%.4f", contrastiveLayers[k]));
        }
        return s.append("])").toString();
    }
}
