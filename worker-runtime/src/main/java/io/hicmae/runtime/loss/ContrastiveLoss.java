package io.hicmae.runtime.loss;

import io.hicmae.runtime.nn.Scalars;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.ArrayList;
import java.util.List;

/**
 * Hierarchical cross-modal contrastive loss: for each exported encoder layer, symmetric InfoNCE between the
 * L2-normalised means of the visible video and audio tokens, logits scaled by 1/tau (a constant), negatives the
 * other clips of this rank's batch; the layer terms are summed.
 */
public final class ContrastiveLoss {

    private ContrastiveLoss() {}

    /** One layer's pieces, kept for logging and the golden checks. */
    public record Layer(NDArray videoFeature, NDArray audioFeature, NDArray logitsPerVideo, NDArray ceVideoToAudio,
            NDArray ceAudioToVideo, NDArray term) {}

    /** The per-layer terms; {@link #sum(List)} gives L_HCMCL. Layers are (B, Nv, C) and (B, Kv, C). */
    public static List<Layer> layers(List<NDArray> videoLayers, List<NDArray> audioLayers, float temperature) {
        List<Layer> out = new ArrayList<>(videoLayers.size());
        for (int k = 0; k < videoLayers.size(); k++) {
            NDArray v = l2normalize(videoLayers.get(k).mean(new int[] {1})); // (B, C)
            NDArray a = l2normalize(audioLayers.get(k).mean(new int[] {1})); // (B, C)
            NDArray logits = Scalars.over(v.matMul(a.transpose()), temperature); // (B, B)
            NDArray ceVa = diagonalCrossEntropy(logits);
            NDArray ceAv = diagonalCrossEntropy(logits.transpose());
            out.add(new Layer(v, a, logits, ceVa, ceAv, Scalars.times(ceVa.add(ceAv), 0.5f)));
        }
        return out;
    }

    public static NDArray sum(List<Layer> layers) {
        NDArray total = layers.get(0).term();
        for (int k = 1; k < layers.size(); k++) {
            total = total.add(layers.get(k).term());
        }
        return total;
    }

    /** Cross-entropy of logits (B, B) with targets 0..B-1, mean over the batch: a scalar. */
    static NDArray diagonalCrossEntropy(NDArray logits) {
        NDManager m = logits.getManager();
        long b = logits.getShape().get(0);
        NDArray eye = m.eye((int) b).toType(logits.getDataType(), false);
        return Scalars.over(logits.logSoftmax(1).mul(eye).sum().neg(), b);
    }

    /** {@code F.normalize(x, dim=-1)}: x / max(||x||, 1e-12). */
    static NDArray l2normalize(NDArray x) {
        return x.div(Scalars.atLeast(x.norm(new int[] {-1}, true), 1e-12f));
    }
}
