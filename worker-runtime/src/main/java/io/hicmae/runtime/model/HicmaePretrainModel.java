package io.hicmae.runtime.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.nn.Decoder;
import io.hicmae.runtime.nn.FusionEncoder;
import io.hicmae.runtime.nn.HicmaeBlock;
import io.hicmae.runtime.nn.Linear;
import io.hicmae.runtime.nn.ModalityEncoder;
import io.hicmae.runtime.nn.PatchEmbed;
import io.hicmae.runtime.nn.SinusoidTable;
import io.hicmae.runtime.nn.Tokens;
import ai.djl.training.initializer.Initializer;

import java.util.ArrayList;
import java.util.List;

/**
 * The authors' {@code PretrainAudioVisionTransformer}: two modality encoders on visible tokens, the cross-modal
 * fusion encoder, and two decoders with hierarchical skip connections (decoder block k cross-attends to the k-th
 * deepest exported encoder layer, projected by the shared {@code encoder_to_decoder}).
 *
 * <p>Dimensions: B batch; N/Nv/Nm video tokens all/visible/masked; K/Kv/Km audio tokens; C encoder width; Cd, Cda
 * decoder widths.
 */
public final class HicmaePretrainModel extends HicmaeBlock {

    private final HicmaeConfig config;
    private final Parameter maskToken;
    private final Parameter maskTokenAudio;
    private final ModalityEncoder encoder;
    private final Decoder decoder;
    private final Linear encoderToDecoder;
    private final ModalityEncoder encoderAudio;
    private final Decoder decoderAudio;
    private final Linear encoderToDecoderAudio;
    private final FusionEncoder encoderFusion;
    private final SinusoidTable decoderPositions;
    private final SinusoidTable decoderPositionsAudio;

    public HicmaePretrainModel(HicmaeConfig c) {
        this.config = c;
        int width = c.embedDim();
        float eps = c.layerNormEps();
        maskToken = param("mask_token", Parameter.Type.OTHER, new Shape(1, 1, c.decoderDim()), truncNormal());
        maskTokenAudio =
                param("mask_token_audio", Parameter.Type.OTHER, new Shape(1, 1, c.decoderDimAudio()), truncNormal());
        encoder = child("encoder", new ModalityEncoder(
                PatchEmbed.video(3, width, c.tubeletSize(), c.patchSize()), c.videoTokens(), width, c.depth(),
                c.numHeads(), c.mlpHidden(width), eps, 0f));
        decoder = child("decoder", new Decoder(c.decoderDim(), c.decoderDepth(), c.decoderHeads(),
                c.mlpHidden(c.decoderDim()), eps, c.videoPatchDim()));
        encoderToDecoder = child("encoder_to_decoder", new Linear(width, c.decoderDim(), false));
        encoderAudio = child("encoder_audio", new ModalityEncoder(
                PatchEmbed.audio(width, c.patchSizeAudio()), c.audioTokens(), width, c.depthAudio(),
                c.numHeadsAudio(), c.mlpHidden(width), eps, 0f));
        decoderAudio = child("decoder_audio", new Decoder(c.decoderDimAudio(), c.decoderDepthAudio(),
                c.decoderHeadsAudio(), c.mlpHidden(c.decoderDimAudio()), eps, c.audioPatchDim()));
        encoderToDecoderAudio = child("encoder_to_decoder_audio", new Linear(width, c.decoderDimAudio(), false));
        encoderFusion = child("encoder_fusion",
                new FusionEncoder(width, c.fusionDepth(), c.fusionHeads(), c.mlpHidden(width), eps, 0f));
        decoderPositions = new SinusoidTable(c.videoTokens(), c.decoderDim());
        decoderPositionsAudio = new SinusoidTable(c.audioTokens(), c.decoderDimAudio());
    }

    private static Initializer truncNormal() {
        return (m, s, t) -> m.truncatedNormal(0f, 0.02f, s, t);
    }

    public HicmaeConfig config() {
        return config;
    }

    /** The full forward pass; {@code trace} receives the golden-named intermediates when recording. */
    public PretrainOutput forward(ParameterStore store, PretrainBatch batch, boolean training, Trace trace) {
        return forward(store, batch, training, trace, BackwardCuts.none());
    }

    /**
     * The full forward pass with a backward cut after every encoder block, video blocks first ({@link #cutOwners()}
     * says which parameters each cut's backward stage finishes).
     */
    public PretrainOutput forward(ParameterStore store, PretrainBatch batch, boolean training, Trace trace,
            BackwardCuts cuts) {
        Modality v = encode(store, encoder, batch.video(), batch.videoVisible(), training, trace, "enc_v", cuts);
        Modality a =
                encode(store, encoderAudio, batch.audio(), batch.audioVisible(), training, trace, "enc_a", cuts);

        FusionEncoder.LayerTap fusionTap = trace.isOn()
                ? (i, fv, fa) -> {
                    trace.put("fusion.block" + i + ".video_out", fv);
                    trace.put("fusion.block" + i + ".audio_out", fa);
                }
                : null;
        NDList fused = encoderFusion.fuse(store, v.output, a.output, training, fusionTap); // (B,Nv,C), (B,Kv,C)
        trace.put("fusion.video_out", fused.get(0));
        trace.put("fusion.audio_out", fused.get(1));

        NDArray predV = decode(store, decoder, encoderToDecoder, maskToken, decoderPositions, fused.get(0),
                v.layers, batch.videoVisible(), batch.videoMasked(), training, trace, "dec_v");
        NDArray predA = decode(store, decoderAudio, encoderToDecoderAudio, maskTokenAudio, decoderPositionsAudio,
                fused.get(1), a.layers, batch.audioVisible(), batch.audioMasked(), training, trace, "dec_a");
        return new PretrainOutput(predV, predA, v.layers, a.layers);
    }

    /** One modality's encoder output and its exported (normed) layers. */
    private record Modality(NDArray output, List<NDArray> layers) {}

    private Modality encode(ParameterStore store, ModalityEncoder enc, NDArray input, NDArray visible,
            boolean training, Trace trace, String tag, BackwardCuts cuts) {
        NDArray patches = enc.patchTokens(store, input, training); // (B, N, C)
        trace.put(tag + ".patch_embed", patches);
        NDArray tokens = enc.embed(store, input, visible, training); // (B, Nv, C)
        trace.put(tag + ".tokens_in", tokens);
        List<NDArray> raw = enc.runBlocks(store, tokens, training, cuts::cut);
        int last = raw.size() - 1;
        NDArray[] normed = new NDArray[raw.size()];
        for (int l : config.intermediateLayers()) {
            normed[l] = enc.normalize(store, raw.get(l), training);
        }
        if (normed[last] == null) {
            normed[last] = enc.normalize(store, raw.get(last), training);
        }
        if (trace.isOn()) {
            for (int l = 0; l < raw.size(); l++) {
                trace.put(tag + ".block" + l + ".out", raw.get(l));
                trace.put(tag + ".block" + l + ".out_normed",
                        normed[l] != null ? normed[l] : enc.normalize(store, raw.get(l), training));
            }
            trace.put(tag + ".out", normed[last]);
        }
        List<NDArray> layers = new ArrayList<>();
        for (int l : config.intermediateLayers()) {
            layers.add(normed[l]);
        }
        return new Modality(normed[last], layers);
    }

    private NDArray decode(ParameterStore store, Decoder dec, Linear toDecoder, Parameter mask, SinusoidTable table,
            NDArray fused, List<NDArray> layers, NDArray visible, NDArray masked, boolean training, Trace trace,
            String tag) {
        NDArray pos = table.toArray(fused.getManager()); // (1, N, Cd)
        NDArray visPos = Tokens.gather(pos, visible); // (B, Nv, Cd)
        NDArray maskPos = Tokens.gather(pos, masked); // (B, Nm, Cd)
        NDArray projVis = call(toDecoder, store, fused, training); // (B, Nv, Cd)
        trace.put(tag + ".proj_vis", projVis);
        NDArray maskTokens = maskPos.add(value(store, mask, fused, training)); // (B, Nm, Cd)
        NDArray x = projVis.add(visPos).concat(maskTokens, 1); // (B, N, Cd): [visible ; masked]
        trace.put(tag + ".tokens_in", x);
        List<NDArray> skips = new ArrayList<>(layers.size());
        for (int k = layers.size() - 1; k >= 0; k--) { // deepest first
            NDArray skip = call(toDecoder, store, layers.get(k), training).add(visPos); // (B, Nv, Cd)
            trace.put(tag + ".skip" + k, skip);
            skips.add(skip);
        }
        Decoder.BlockTap tap = trace.isOn() ? (i, out) -> trace.put(tag + ".block" + i + ".out", out) : null;
        NDArray pred = dec.decode(store, x, skips, (int) masked.getShape().get(1), training, tap);
        trace.put(tag + ".pred", pred);
        return pred;
    }

    /**
     * Per backward cut of {@link #forward(ParameterStore, PretrainBatch, boolean, Trace, BackwardCuts)}, in the
     * order the cuts are made, the key prefixes of the parameters whose gradients its backward stage finishes: the
     * block it follows (the first block also takes the patch embedding). Every other parameter (decoders, fusion
     * encoder, the encoders' norms, mask tokens, projections) is finished by the loss's stage.
     */
    public List<List<String>> cutOwners() {
        List<List<String>> owners = new ArrayList<>(encoder.cutOwners("encoder."));
        owners.addAll(encoderAudio.cutOwners("encoder_audio."));
        return owners;
    }

    public ModalityEncoder videoEncoder() {
        return encoder;
    }

    public ModalityEncoder audioEncoder() {
        return encoderAudio;
    }

    public FusionEncoder fusionEncoder() {
        return encoderFusion;
    }

    public Decoder videoDecoder() {
        return decoder;
    }

    public Decoder audioDecoder() {
        return decoderAudio;
    }

    /** Inputs: the six arrays of {@link PretrainBatch#toList()}; outputs: the two predictions. */
    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        PretrainBatch b = new PretrainBatch(
                inputs.get(0), inputs.get(1), inputs.get(2), inputs.get(3), inputs.get(4), inputs.get(5));
        PretrainOutput out = forward(store, b, training, Trace.OFF);
        return new NDList(out.videoPrediction(), out.audioPrediction());
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        long b = inputShapes[0].get(0);
        return new Shape[] {
            new Shape(b, config.videoMasked(), config.videoPatchDim()),
            new Shape(b, config.audioMasked(), config.audioPatchDim())
        };
    }
}
