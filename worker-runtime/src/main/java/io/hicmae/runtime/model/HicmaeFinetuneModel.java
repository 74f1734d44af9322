package io.hicmae.runtime.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.nn.FusionEncoder;
import io.hicmae.runtime.nn.HicmaeBlock;
import io.hicmae.runtime.nn.LayerNorm;
import io.hicmae.runtime.nn.Linear;
import io.hicmae.runtime.nn.ModalityEncoder;
import io.hicmae.runtime.nn.PatchEmbed;

import java.util.List;

/**
 * The authors' fine-tuning model {@code AudioVisionTransformer} with hierarchical feature fusion: every encoder
 * layer, normed by the encoder's final LayerNorm and averaged over tokens, is mixed by softmax-weighted layer
 * logits ({@code video_layer_weights}, {@code audio_layer_weights}); the last layers also go through the fusion
 * encoder; the four pooled features are concatenated, normed ({@code fc_norm}) and classified ({@code head}).
 * Encoder keys equal the pre-training model's, so a pre-trained checkpoint loads by name.
 *
 * <p>Dimensions: B batch, N video tokens, K audio tokens, L encoder depth, C width, Q classes.
 */
public final class HicmaeFinetuneModel extends HicmaeBlock {

    private final HicmaeConfig config;
    private final ModalityEncoder encoder;
    private final ModalityEncoder encoderAudio;
    private final FusionEncoder encoderFusion;
    private final Parameter videoLayerWeights;
    private final Parameter audioLayerWeights;
    private final LayerNorm fcNorm;
    private final Linear head;
    private final int numClasses;

    /**
     * @param numClasses classifier outputs (or regression targets)
     * @param dropPath stochastic-depth rate of the deepest block (upstream fine-tuning 0.1; 0 for evaluation)
     */
    public HicmaeFinetuneModel(HicmaeConfig c, int numClasses, float dropPath) {
        if (numClasses < 1) {
            throw new IllegalArgumentException("Invalid value " + numClasses + " for configuration num-classes: must be at least 1");
        }
        this.config = c;
        this.numClasses = numClasses;
        int width = c.embedDim();
        float eps = c.layerNormEps();
        encoder = child("encoder", new ModalityEncoder(
                PatchEmbed.video(3, width, c.tubeletSize(), c.patchSize()), c.videoTokens(), width, c.depth(),
                c.numHeads(), c.mlpHidden(width), eps, dropPath));
        encoderAudio = child("encoder_audio", new ModalityEncoder(
                PatchEmbed.audio(width, c.patchSizeAudio()), c.audioTokens(), width, c.depthAudio(),
                c.numHeadsAudio(), c.mlpHidden(width), eps, dropPath));
        encoderFusion = child("encoder_fusion",
                new FusionEncoder(width, c.fusionDepth(), c.fusionHeads(), c.mlpHidden(width), eps, dropPath));
        videoLayerWeights = param("video_layer_weights", Parameter.Type.OTHER, new Shape(c.depth()),
                constant(1.0f / c.depth()));
        audioLayerWeights = param("audio_layer_weights", Parameter.Type.OTHER, new Shape(c.depthAudio()),
                constant(1.0f / c.depthAudio()));
        fcNorm = child("fc_norm", new LayerNorm(4L * width, eps));
        head = child("head", new Linear(4L * width, numClasses, true));
    }

    private static Initializer constant(float value) {
        return (m, s, t) -> m.full(s, value, t);
    }

    public HicmaeConfig config() {
        return config;
    }

    /** video (B, 3, T, H, W), audio (B, 1, time, mel) -> logits (B, Q); {@code trace} gets golden-named parts. */
    public NDArray forward(ParameterStore store, NDArray video, NDArray audio, boolean training, Trace trace) {
        Pooled v = pool(store, encoder, video, videoLayerWeights, training, trace, "video");
        Pooled a = pool(store, encoderAudio, audio, audioLayerWeights, training, trace, "audio");
        NDList fused = encoderFusion.fuse(store, v.lastNormed, a.lastNormed, training, null);
        trace.put("fusion_video_out", fused.get(0));
        trace.put("fusion_audio_out", fused.get(1));
        NDArray fv = fused.get(0).mean(new int[] {1}); // (B, C)
        NDArray fa = fused.get(1).mean(new int[] {1});
        trace.put("fusion_video_pooled", fv);
        trace.put("fusion_audio_pooled", fa);
        NDArray feature = NDArrays.concat(new NDList(v.feature, a.feature, fv, fa), 1); // (B, 4C)
        trace.put("final_feature_pre_norm", feature);
        NDArray normed = call(fcNorm, store, feature, training);
        trace.put("final_feature", normed);
        NDArray logits = call(head, store, normed, training); // (B, Q)
        trace.put("logits", logits);
        return logits;
    }

    /** One modality's layer-weighted feature and its last normed layer (the fusion encoder's input). */
    private record Pooled(NDArray feature, NDArray lastNormed) {}

    private Pooled pool(ParameterStore store, ModalityEncoder enc, NDArray input, Parameter layerWeights,
            boolean training, Trace trace, String tag) {
        NDArray tokens = enc.embed(store, input, null, training); // (B, N, C)
        List<NDArray> raw = enc.runBlocks(store, tokens, training);
        NDList pooled = new NDList(raw.size());
        NDArray last = null;
        for (NDArray r : raw) {
            last = enc.normalize(store, r, training); // (B, N, C)
            pooled.add(last.mean(new int[] {1})); // (B, C)
        }
        NDArray layers = NDArrays.stack(pooled, 1); // (B, L, C)
        NDArray weights = value(store, layerWeights, input, training).softmax(0); // (L)
        weights.attach(input.getManager());
        NDArray feature = layers.mul(weights.reshape(1, -1, 1)).sum(new int[] {1}); // (B, C)
        trace.put(tag + "_layers_pooled", layers);
        trace.put(tag + "_layer_softmax", weights);
        trace.put(tag + "_feature", feature);
        trace.put(tag + "_last_layer_normed", last);
        return new Pooled(feature, last);
    }

    /** Inputs: video, audio; output: logits. */
    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(forward(store, inputs.get(0), inputs.get(1), training, Trace.OFF));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), numClasses)};
    }
}
