package io.hicmae.runtime.loss;

import io.hicmae.runtime.nn.Scalars;
import ai.djl.ndarray.NDArray;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.model.PretrainOutput;

import java.util.List;

/**
 * The pre-training objective: {@code L = MSE_video + MSE_audio + lambda * L_HCMCL}, MSE over masked tokens only,
 * video against the frame-difference target (the release script's choice).
 *
 * @param total the scalar to differentiate
 * @param video MSE of the video reconstruction
 * @param audio MSE of the audio reconstruction
 * @param contrastive L_HCMCL, the sum of the layer terms (unweighted)
 * @param layers the per-layer contrastive pieces
 */
public record PretrainLoss(NDArray total, NDArray video, NDArray audio, NDArray contrastive,
        List<ContrastiveLoss.Layer> layers) {

    /** Computes every term from the model output and the batch it came from. */
    public static PretrainLoss compute(HicmaeConfig c, PretrainBatch batch, PretrainOutput out) {
        NDArray targetV = ReconstructionTargets.video(c, batch.video(), batch.videoMasked(), true);
        NDArray targetA = ReconstructionTargets.audio(c, batch.audio(), batch.audioMasked());
        NDArray video = mse(out.videoPrediction(), targetV);
        NDArray audio = mse(out.audioPrediction(), targetA);
        List<ContrastiveLoss.Layer> layers =
                ContrastiveLoss.layers(out.videoLayers(), out.audioLayers(), c.temperature());
        NDArray contrastive = ContrastiveLoss.sum(layers);
        NDArray total = video.add(audio).add(Scalars.times(contrastive, c.contrastiveWeight()));
        return new PretrainLoss(total, video, audio, contrastive, layers);
    }

    static NDArray mse(NDArray prediction, NDArray target) {
        return prediction.sub(target).square().mean();
    }
}
