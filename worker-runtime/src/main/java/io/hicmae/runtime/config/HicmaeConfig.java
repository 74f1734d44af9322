package io.hicmae.runtime.config;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Every size of a HiCMAE model: the pre-training model and the fine-tuning model built on the same encoders.
 *
 * <p>Field names follow the authors' constructor arguments (see {@code config.json} of the golden set). Presets come
 * from the factories ({@link #tiny()}, {@link #demo()}, {@link #small()}, {@link #base()}, {@link #hicmaeT()}); any
 * other size is read with {@link #fromJson(Path)}. The compact constructor rejects inconsistent sizes with a message
 * naming the field and value.
 *
 * @param name preset name, for logs and the model card
 * @param imgSize video frame side in pixels (square frames)
 * @param patchSize video patch side
 * @param tubeletSize frames per video token
 * @param numFrames frames per clip (upstream always 16)
 * @param embedDim width of the video encoder, the audio encoder and the fusion encoder
 * @param depth blocks in the video encoder
 * @param numHeads heads in the video encoder
 * @param audioFrames fbank frames (time) of the audio input
 * @param audioMelBins mel bins of the audio input
 * @param patchSizeAudio audio patch side (time and mel)
 * @param depthAudio blocks in the audio encoder
 * @param numHeadsAudio heads in the audio encoder
 * @param fusionDepth cross-modal fusion layers
 * @param fusionHeads heads of the fusion blocks
 * @param decoderDim video decoder width
 * @param decoderDepth video decoder blocks (one plain block, then one cross+self block per exported layer)
 * @param decoderHeads video decoder heads
 * @param decoderDimAudio audio decoder width
 * @param decoderDepthAudio audio decoder blocks
 * @param decoderHeadsAudio audio decoder heads
 * @param mlpRatio MLP hidden width over block width
 * @param layerNormEps epsilon of every LayerNorm
 * @param intermediateLayers encoder block indices exported to the skip connections and the contrastive loss
 * @param maskRatioVideo tube-mask ratio per temporal slice
 * @param maskRatioAudio random-mask ratio
 * @param temperature contrastive temperature (a constant)
 * @param contrastiveWeight weight of the hierarchical contrastive loss in the total loss
 */
public record HicmaeConfig(
        String name,
        int imgSize,
        int patchSize,
        int tubeletSize,
        int numFrames,
        int embedDim,
        int depth,
        int numHeads,
        int audioFrames,
        int audioMelBins,
        int patchSizeAudio,
        int depthAudio,
        int numHeadsAudio,
        int fusionDepth,
        int fusionHeads,
        int decoderDim,
        int decoderDepth,
        int decoderHeads,
        int decoderDimAudio,
        int decoderDepthAudio,
        int decoderHeadsAudio,
        double mlpRatio,
        float layerNormEps,
        int[] intermediateLayers,
        double maskRatioVideo,
        double maskRatioAudio,
        float temperature,
        float contrastiveWeight) {

    public HicmaeConfig {
        positive("imgSize", imgSize);
        positive("patchSize", patchSize);
        positive("tubeletSize", tubeletSize);
        positive("numFrames", numFrames);
        positive("audioFrames", audioFrames);
        positive("audioMelBins", audioMelBins);
        positive("patchSizeAudio", patchSizeAudio);
        positive("fusionDepth", fusionDepth);
        divides("patchSize", patchSize, "imgSize", imgSize);
        divides("tubeletSize", tubeletSize, "numFrames", numFrames);
        divides("patchSizeAudio", patchSizeAudio, "audioFrames", audioFrames);
        divides("patchSizeAudio", patchSizeAudio, "audioMelBins", audioMelBins);
        divides("numHeads", numHeads, "embedDim", embedDim);
        divides("numHeadsAudio", numHeadsAudio, "embedDim", embedDim);
        divides("fusionHeads", fusionHeads, "embedDim", embedDim);
        divides("decoderHeads", decoderHeads, "decoderDim", decoderDim);
        divides("decoderHeadsAudio", decoderHeadsAudio, "decoderDimAudio", decoderDimAudio);
        if (intermediateLayers == null || intermediateLayers.length == 0) {
            throw invalid("intermediateLayers", "[]", "at least one encoder layer must be exported");
        }
        intermediateLayers = intermediateLayers.clone();
        for (int i = 0; i < intermediateLayers.length; i++) {
            int l = intermediateLayers[i];
            if (l < 0 || l >= Math.min(depth, depthAudio) || (i > 0 && l <= intermediateLayers[i - 1])) {
                throw invalid(
                        "intermediateLayers",
                        Arrays.toString(intermediateLayers),
                        "must be strictly increasing block indices below both encoder depths");
            }
        }
        if (decoderDepth != intermediateLayers.length + 1) {
            throw invalid("decoderDepth", decoderDepth, "must be 1 + the number of intermediateLayers");
        }
        if (decoderDepthAudio != intermediateLayers.length + 1) {
            throw invalid("decoderDepthAudio", decoderDepthAudio, "must be 1 + the number of intermediateLayers");
        }
        if (!(maskRatioVideo >= 0 && maskRatioVideo < 1)) {
            throw invalid("maskRatioVideo", maskRatioVideo, "must be in [0, 1)");
        }
        if (!(maskRatioAudio >= 0 && maskRatioAudio < 1)) {
            throw invalid("maskRatioAudio", maskRatioAudio, "must be in [0, 1)");
        }
        if (!(temperature > 0)) {
            throw invalid("temperature", temperature, "must be positive");
        }
    }

    /** The golden tensors' configuration: every idea of the real model at toy sizes. For tests. */
    public static HicmaeConfig tiny() {
        return new HicmaeConfig("tiny", 16, 4, 2, 16, 32, 5, 4, 64, 32, 8, 5, 4, 2, 4, 24, 4, 3, 16, 4, 2,
                4.0, 1e-6f, new int[] {0, 2, 4}, 0.75, 0.8, 0.07f, 0.0025f);
    }

    /**
     * The real input geometry (16 frames of 160x160, 256x128 fbank, 800 and 128 tokens) with a narrow, shallow
     * network, so that a CPU step is fast and a few minutes of training visibly lower every loss term.
     */
    public static HicmaeConfig demo() {
        return new HicmaeConfig("demo", 160, 16, 2, 16, 64, 3, 4, 256, 128, 16, 3, 4, 1, 4, 32, 4, 2, 32, 4, 2,
                4.0, 1e-6f, new int[] {0, 1, 2}, 0.9, 0.8, 0.07f, 0.0025f);
    }

    /** HiCMAE-S: {@code pretrain_hicmae_dim384_patch16_160_a256} with the release script's depths. */
    public static HicmaeConfig small() {
        return release("small", 384, 6, 192, 3);
    }

    /** HiCMAE-B: {@code pretrain_hicmae_dim512_patch16_160_a256}, the released checkpoint's size. */
    public static HicmaeConfig base() {
        return release("base", 512, 8, 384, 6);
    }

    /**
     * HiCMAE-T: width 256. Upstream registers it for fine-tuning only; its decoder sizes here follow HiCMAE-S so
     * that the pre-training model can be built too.
     */
    public static HicmaeConfig hicmaeT() {
        return release("hicmae-t", 256, 4, 192, 3);
    }

    private static HicmaeConfig release(String name, int dim, int heads, int decDim, int decHeads) {
        return new HicmaeConfig(name, 160, 16, 2, 16, dim, 10, heads, 256, 128, 16, 10, heads, 2, heads,
                decDim, 4, decHeads, decDim, 4, decHeads, 4.0, 1e-6f, new int[] {3, 6, 9}, 0.9, 0.8, 0.07f,
                0.0025f);
    }

    /** A preset by name: tiny, demo, small, base or hicmae-t. */
    public static HicmaeConfig preset(String name) {
        switch (name) {
            case "tiny":
                return tiny();
            case "demo":
                return demo();
            case "small":
                return small();
            case "base":
                return base();
            case "hicmae-t":
                return hicmaeT();
            default:
                throw invalid("preset", name, "must be one of tiny, demo, small, base, hicmae-t");
        }
    }

    /**
     * Reads the {@code "pretrain"} object of a golden-format {@code config.json}.
     *
     * @throws IOException if the file cannot be read
     * @throws IllegalArgumentException naming the file and key when a key is missing or a size is inconsistent
     */
    public static HicmaeConfig fromJson(Path file) throws IOException {
        return fromJson(Files.readString(file), file.toString());
    }

    /** Parses golden-format JSON text; {@code origin} names it in errors. */
    public static HicmaeConfig fromJson(String json, String origin) {
        Path file = Path.of(origin);
        JsonObject root = JsonParser.parseString(json).getAsJsonObject();
        JsonObject p = root.getAsJsonObject("pretrain");
        if (p == null) {
            throw new IllegalArgumentException(file + ": no \"pretrain\" object");
        }
        try {
            int encDim = integer(p, "encoder_embed_dim");
            if (integer(p, "encoder_embed_dim_audio") != encDim) {
                throw invalid("encoder_embed_dim_audio", integer(p, "encoder_embed_dim_audio"),
                        "must equal encoder_embed_dim (the contrastive loss has no projection heads)");
            }
            JsonArray audioSize = p.getAsJsonArray("img_size_audio");
            JsonArray layers = p.getAsJsonArray("return_intermediate_features");
            int[] inter = new int[layers.size()];
            for (int i = 0; i < inter.length; i++) {
                inter[i] = layers.get(i).getAsInt();
            }
            HicmaeConfig c = new HicmaeConfig(
                    root.has("preset") ? root.get("preset").getAsString() : file.getFileName().toString(),
                    integer(p, "img_size"),
                    integer(p, "patch_size"),
                    integer(p, "tubelet_size"),
                    integer(p, "num_frames"),
                    encDim,
                    integer(p, "encoder_depth"),
                    integer(p, "encoder_num_heads"),
                    audioSize.get(0).getAsInt(),
                    audioSize.get(1).getAsInt(),
                    integer(p, "patch_size_audio"),
                    integer(p, "encoder_depth_audio"),
                    integer(p, "encoder_num_heads_audio"),
                    integer(p, "encoder_fusion_depth"),
                    integer(p, "encoder_fusion_num_heads"),
                    integer(p, "decoder_embed_dim"),
                    integer(p, "decoder_depth"),
                    integer(p, "decoder_num_heads"),
                    integer(p, "decoder_embed_dim_audio"),
                    integer(p, "decoder_depth_audio"),
                    integer(p, "decoder_num_heads_audio"),
                    p.get("mlp_ratio").getAsDouble(),
                    p.get("layernorm_eps").getAsFloat(),
                    inter,
                    p.get("mask_ratio_video").getAsDouble(),
                    p.get("mask_ratio_audio").getAsDouble(),
                    p.get("inter_contrastive_temperature").getAsFloat(),
                    p.get("loss_weight").getAsFloat());
            if (integer(p, "decoder_num_classes") != c.videoPatchDim()) {
                throw invalid("decoder_num_classes", integer(p, "decoder_num_classes"),
                        "must be 3 * tubelet_size * patch_size^2 = " + c.videoPatchDim());
            }
            if (integer(p, "decoder_num_classes_audio") != c.audioPatchDim()) {
                throw invalid("decoder_num_classes_audio", integer(p, "decoder_num_classes_audio"),
                        "must be patch_size_audio^2 = " + c.audioPatchDim());
            }
            return c;
        } catch (NullPointerException | IllegalStateException | UnsupportedOperationException e) {
            throw new IllegalArgumentException(file + ": malformed \"pretrain\" object: " + e, e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
        }
    }

    /** The same model with another contrastive-loss weight (0 turns the loss's gradient off). */
    public HicmaeConfig withContrastiveWeight(float weight) {
        return new HicmaeConfig(name, imgSize, patchSize, tubeletSize, numFrames, embedDim, depth, numHeads,
                audioFrames, audioMelBins, patchSizeAudio, depthAudio, numHeadsAudio, fusionDepth, fusionHeads,
                decoderDim, decoderDepth, decoderHeads, decoderDimAudio, decoderDepthAudio, decoderHeadsAudio,
                mlpRatio, layerNormEps, intermediateLayers, maskRatioVideo, maskRatioAudio, temperature, weight);
    }

    /** This config as a golden-format {@code config.json} (the "pretrain" object), readable by {@link #fromJson}. */
    public String toJson() {
        JsonObject p = new JsonObject();
        p.addProperty("img_size", imgSize);
        p.addProperty("patch_size", patchSize);
        p.addProperty("tubelet_size", tubeletSize);
        p.addProperty("num_frames", numFrames);
        p.addProperty("encoder_in_chans", 3);
        p.addProperty("encoder_embed_dim", embedDim);
        p.addProperty("encoder_depth", depth);
        p.addProperty("encoder_num_heads", numHeads);
        p.addProperty("decoder_num_classes", videoPatchDim());
        p.addProperty("decoder_embed_dim", decoderDim);
        p.addProperty("decoder_depth", decoderDepth);
        p.addProperty("decoder_num_heads", decoderHeads);
        JsonArray audio = new JsonArray();
        audio.add(audioFrames);
        audio.add(audioMelBins);
        p.add("img_size_audio", audio);
        p.addProperty("patch_size_audio", patchSizeAudio);
        p.addProperty("encoder_in_chans_audio", 1);
        p.addProperty("encoder_embed_dim_audio", embedDim);
        p.addProperty("encoder_depth_audio", depthAudio);
        p.addProperty("encoder_num_heads_audio", numHeadsAudio);
        p.addProperty("decoder_num_classes_audio", audioPatchDim());
        p.addProperty("decoder_embed_dim_audio", decoderDimAudio);
        p.addProperty("decoder_depth_audio", decoderDepthAudio);
        p.addProperty("decoder_num_heads_audio", decoderHeadsAudio);
        p.addProperty("encoder_fusion_depth", fusionDepth);
        p.addProperty("encoder_fusion_num_heads", fusionHeads);
        p.addProperty("mlp_ratio", mlpRatio);
        p.addProperty("qkv_bias", true);
        p.addProperty("layernorm_eps", layerNormEps);
        p.addProperty("init_values", 0.0);
        p.addProperty("inter_contrastive_temperature", temperature);
        JsonArray layers = new JsonArray();
        for (int l : intermediateLayers) {
            layers.add(l);
        }
        p.add("return_intermediate_features", layers);
        p.addProperty("mask_ratio_video", maskRatioVideo);
        p.addProperty("mask_ratio_audio", maskRatioAudio);
        p.addProperty("loss_weight", contrastiveWeight);
        JsonObject root = new JsonObject();
        root.addProperty("preset", name);
        root.add("pretrain", p);
        return new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(root);
    }

    private static int integer(JsonObject o, String key) {
        if (!o.has(key)) {
            throw new IllegalArgumentException("missing key \"" + key + "\"");
        }
        return o.get(key).getAsInt();
    }

    /** Video tokens per spatial slice: (imgSize / patchSize)^2. */
    public int videoPatchesPerFrame() {
        return (imgSize / patchSize) * (imgSize / patchSize);
    }

    /** Temporal slices of video tokens: numFrames / tubeletSize. */
    public int videoSlices() {
        return numFrames / tubeletSize;
    }

    /** All video tokens of a clip. */
    public int videoTokens() {
        return videoSlices() * videoPatchesPerFrame();
    }

    /** All audio tokens of a clip (time-major). */
    public int audioTokens() {
        return (audioFrames / patchSizeAudio) * (audioMelBins / patchSizeAudio);
    }

    /** Masked video tokens: int(ratio * patches per slice) per slice, as upstream's tube masking. */
    public int videoMasked() {
        return pythonInt(maskRatioVideo * videoPatchesPerFrame()) * videoSlices();
    }

    /** Masked audio tokens: int(ratio * tokens). */
    public int audioMasked() {
        return pythonInt(maskRatioAudio * audioTokens());
    }

    public int videoVisible() {
        return videoTokens() - videoMasked();
    }

    public int audioVisible() {
        return audioTokens() - audioMasked();
    }

    /** Values reconstructed per video token: 3 * tubelet * patch^2. */
    public int videoPatchDim() {
        return 3 * tubeletSize * patchSize * patchSize;
    }

    /** Values reconstructed per audio token: patch^2. */
    public int audioPatchDim() {
        return patchSizeAudio * patchSizeAudio;
    }

    public int mlpHidden(int width) {
        return (int) (width * mlpRatio);
    }

    @Override
    public int[] intermediateLayers() {
        return intermediateLayers.clone();
    }

    private static int pythonInt(double x) {
        return (int) x;
    }

    private static void positive(String key, int v) {
        if (v <= 0) {
            throw invalid(key, v, "must be at least 1");
        }
    }

    private static void divides(String partKey, int part, String wholeKey, int whole) {
        if (part <= 0 || whole <= 0 || whole % part != 0) {
            throw invalid(partKey, part, "must be positive and divide " + wholeKey + " = " + whole);
        }
    }

    private static IllegalArgumentException invalid(String key, Object value, String reason) {
        return new IllegalArgumentException(
                "Invalid value " + value + " for configuration " + key + ": " + reason);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HicmaeConfig c && toString().equals(c.toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "HicmaeConfig[" + name + ": video " + numFrames + "x" + imgSize + "^2 patch " + tubeletSize + "x"
                + patchSize + "^2, audio " + audioFrames + "x" + audioMelBins + " patch " + patchSizeAudio
                + ", width " + embedDim + ", depths " + depth + "/" + depthAudio + "/" + fusionDepth
                + ", heads " + numHeads + "/" + numHeadsAudio + "/" + fusionHeads + ", decoders " + decoderDim
                + "x" + decoderDepth + "h" + decoderHeads + " / " + decoderDimAudio + "x" + decoderDepthAudio
                + "h" + decoderHeadsAudio + ", mlp " + mlpRatio + ", eps " + layerNormEps + ", layers "
                + Arrays.toString(intermediateLayers) + ", masks " + maskRatioVideo + "/" + maskRatioAudio
                + ", tau " + temperature + ", lambda " + contrastiveWeight + "]";
    }
}
