package io.hicmae.runtime.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.nn.LayerNorm;
import io.hicmae.runtime.nn.Linear;

/**
 * The authors' fine-tuning model {@code AudioVisionTransformer} with hierarchical feature fusion: the
 * {@link HicmaeEncoder} embedding, normed ({@code fc_norm}) and classified ({@code head}). Encoder keys equal the
 * pre-training model's, so a pre-trained checkpoint loads by name.
 *
 * <p>Dimensions: B batch, C width, Q classes.
 */
public final class HicmaeFinetuneModel extends HicmaeEncoder {

    private final LayerNorm fcNorm;
    private final Linear head;
    private final int numClasses;

    /**
     * @param numClasses classifier outputs (or regression targets)
     * @param dropPath stochastic-depth rate of the deepest block (upstream fine-tuning 0.1; 0 for evaluation)
     */
    public HicmaeFinetuneModel(HicmaeConfig c, int numClasses, float dropPath) {
        super(c, dropPath);
        if (numClasses < 1) {
            throw new IllegalArgumentException("Invalid value " + numClasses + " for configuration num-classes: must be at least 1");
        }
        this.numClasses = numClasses;
        fcNorm = child("fc_norm", new LayerNorm(embeddingSize(), c.layerNormEps()));
        head = child("head", new Linear(embeddingSize(), numClasses, true));
    }

    /** video (B, 3, T, H, W), audio (B, 1, time, mel) -> logits (B, Q); {@code trace} gets golden-named parts. */
    public NDArray forward(ParameterStore store, NDArray video, NDArray audio, boolean training, Trace trace) {
        return forward(store, video, audio, training, trace, BackwardCuts.none());
    }

    /** The forward pass with a backward cut after every encoder block ({@link #cutOwners()}). */
    public NDArray forward(ParameterStore store, NDArray video, NDArray audio, boolean training, Trace trace,
            BackwardCuts cuts) {
        NDArray feature = embed(store, video, audio, training, trace, cuts); // (B, 4C)
        NDArray normed = call(fcNorm, store, feature, training);
        trace.put("final_feature", normed);
        NDArray logits = call(head, store, normed, training); // (B, Q)
        trace.put("logits", logits);
        return logits;
    }

    /** Inputs: video, audio; output: logits. */
    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(store, inputs.get(0), inputs.get(1), training, Trace.OFF));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(batch(inputShapes), numClasses)};
    }
}
