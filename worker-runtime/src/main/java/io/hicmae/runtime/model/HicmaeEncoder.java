package io.hicmae.runtime.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;
import ai.djl.util.PairList;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.nn.FusionEncoder;
import io.hicmae.runtime.nn.HicmaeBlock;
import io.hicmae.runtime.nn.ModalityEncoder;
import io.hicmae.runtime.nn.PatchEmbed;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The fine-tuning model's backbone as a feature extractor: the authors' {@code AudioVisionTransformer} up to the
 * fused feature, without {@code fc_norm} and {@code head}. Every encoder layer, normed by the encoder's final
 * LayerNorm and averaged over tokens, is mixed by softmax-weighted layer logits ({@code video_layer_weights},
 * {@code audio_layer_weights}); the last normed layers also go through the fusion encoder; the output is
 * concat[e_v, e_a, f_v, f_a] (spec §10).
 *
 * <p>Keys equal the authors' fine-tuning keys, so a pre-training checkpoint (decoders ignored) and a fine-tuned one
 * both load by name with {@link #loadWeights}.
 *
 * <p>Dimensions: B batch, N video tokens, K audio tokens, L encoder depth, C width.
 */
public class HicmaeEncoder extends HicmaeBlock {

    /** Key of the video layer logits; absent from pre-training checkpoints. */
    public static final String VIDEO_LAYER_WEIGHTS = "video_layer_weights";
    /** Key of the audio layer logits; absent from pre-training checkpoints. */
    public static final String AUDIO_LAYER_WEIGHTS = "audio_layer_weights";

    private final HicmaeConfig config;
    private final ModalityEncoder encoder;
    private final ModalityEncoder encoderAudio;
    private final FusionEncoder encoderFusion;
    private final Parameter videoLayerWeights;
    private final Parameter audioLayerWeights;

    /** The feature extractor for evaluation (no stochastic depth). */
    public HicmaeEncoder(HicmaeConfig c) {
        this(c, 0f);
    }

    /** @param dropPath stochastic-depth rate of the deepest block (upstream fine-tuning 0.1; 0 for evaluation) */
    protected HicmaeEncoder(HicmaeConfig c, float dropPath) {
        this.config = c;
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
        videoLayerWeights = param(VIDEO_LAYER_WEIGHTS, Parameter.Type.OTHER, new Shape(c.depth()),
                constant(1.0f / c.depth()));
        audioLayerWeights = param(AUDIO_LAYER_WEIGHTS, Parameter.Type.OTHER, new Shape(c.depthAudio()),
                constant(1.0f / c.depthAudio()));
    }

    private static Initializer constant(float value) {
        return (m, s, t) -> m.full(s, value, t);
    }

    public HicmaeConfig config() {
        return config;
    }

    /**
     * Per backward cut of {@link #embed(ParameterStore, NDArray, NDArray, boolean, Trace, BackwardCuts)}, in the
     * order the cuts are made (video blocks, then audio blocks), the key prefixes of the parameters its backward
     * stage finishes; every other parameter is finished by the loss's stage.
     */
    public List<List<String>> cutOwners() {
        List<List<String>> owners = new ArrayList<>(encoder.cutOwners("encoder."));
        owners.addAll(encoderAudio.cutOwners("encoder_audio."));
        return owners;
    }

    /** Width of the embedding: 4C. */
    public long embeddingSize() {
        return 4L * config.embedDim();
    }

    /**
     * video (B, 3, T, H, W), audio (B, 1, time, mel) -> the fused embedding (B, 4C); {@code trace} gets golden-named
     * parts up to {@code final_feature_pre_norm}.
     */
    public NDArray embed(ParameterStore store, NDArray video, NDArray audio, boolean training, Trace trace) {
        return embed(store, video, audio, training, trace, BackwardCuts.none());
    }

    /** The embedding with a backward cut after every encoder block ({@link #cutOwners()}). */
    public NDArray embed(ParameterStore store, NDArray video, NDArray audio, boolean training, Trace trace,
            BackwardCuts cuts) {
        Pooled v = pool(store, encoder, video, videoLayerWeights, training, trace, "video", cuts);
        Pooled a = pool(store, encoderAudio, audio, audioLayerWeights, training, trace, "audio", cuts);
        NDList fused = encoderFusion.fuse(store, v.lastNormed, a.lastNormed, training, null);
        trace.put("fusion_video_out", fused.get(0));
        trace.put("fusion_audio_out", fused.get(1));
        NDArray fv = fused.get(0).mean(new int[] {1}); // (B, C)
        NDArray fa = fused.get(1).mean(new int[] {1});
        trace.put("fusion_video_pooled", fv);
        trace.put("fusion_audio_pooled", fa);
        NDArray feature = NDArrays.concat(new NDList(v.feature, a.feature, fv, fa), 1); // (B, 4C)
        trace.put("final_feature_pre_norm", feature);
        return feature;
    }

    /** One modality's layer-weighted feature and its last normed layer (the fusion encoder's input). */
    private record Pooled(NDArray feature, NDArray lastNormed) {}

    private Pooled pool(ParameterStore store, ModalityEncoder enc, NDArray input, Parameter layerWeights,
            boolean training, Trace trace, String tag, BackwardCuts cuts) {
        NDArray tokens = enc.embed(store, input, null, training); // (B, N, C)
        List<NDArray> raw = enc.runBlocks(store, tokens, training, cuts::cut);
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

    /**
     * Loads a checkpoint by the authors' keys, ignoring keys this block does not have (decoders, mask tokens). A
     * pre-training checkpoint has no layer logits: both then get upstream's initial value 1/L, whose softmax weighs
     * every layer equally. A checkpoint with only one of the two is rejected.
     *
     * @param origin names the source in error messages
     * @throws IllegalArgumentException naming the missing key, the first wrong shape or dtype (nothing is changed)
     */
    public void loadWeights(Map<String, NDArray> source, String origin) {
        boolean hasVideo = source.containsKey(VIDEO_LAYER_WEIGHTS);
        boolean hasAudio = source.containsKey(AUDIO_LAYER_WEIGHTS);
        if (hasVideo != hasAudio) {
            throw new IllegalArgumentException(origin + ": missing key "
                    + (hasVideo ? AUDIO_LAYER_WEIGHTS : VIDEO_LAYER_WEIGHTS) + " (the checkpoint has "
                    + (hasVideo ? VIDEO_LAYER_WEIGHTS : AUDIO_LAYER_WEIGHTS) + ")");
        }
        if (hasVideo) {
            StateDict.load(this, source, origin, false);
            return;
        }
        try (NDManager uniform = videoLayerWeights.getArray().getManager().newSubManager()) {
            Map<String, NDArray> withLayerWeights = new LinkedHashMap<>(source);
            withLayerWeights.put(VIDEO_LAYER_WEIGHTS, uniform.full(new Shape(config.depth()), 1.0f / config.depth()));
            withLayerWeights.put(AUDIO_LAYER_WEIGHTS,
                    uniform.full(new Shape(config.depthAudio()), 1.0f / config.depthAudio()));
            StateDict.load(this, withLayerWeights, origin, false);
        }
    }

    /** Inputs: video, audio; output: the embedding (B, 4C). */
    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return new NDList(embed(store, inputs.get(0), inputs.get(1), training, Trace.OFF));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(batch(inputShapes), embeddingSize())};
    }

    /** The batch size of [video, audio] input shapes; rejects any other input count. */
    protected static long batch(Shape[] inputShapes) {
        if (inputShapes.length != 2) {
            throw new IllegalArgumentException("Invalid value " + inputShapes.length
                    + " for input count: HiCMAE takes video and audio");
        }
        return inputShapes[0].get(0);
    }
}
