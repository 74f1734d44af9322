package io.hicmae.runtime.optim;

import io.hicmae.runtime.config.HicmaeConfig;

/**
 * Fine-tuning's layer-wise lr decay: layer id 0 for the patch embeddings, i + 1 for modality-encoder block i (video
 * and audio share ids), depth + 1 + i for fusion block i, and depth + fusionDepth + 1 for everything else; a
 * parameter of layer id k gets lr x decay^(maxId - k).
 */
public final class LayerDecay {

    private final double decay;
    private final int depth;
    private final int maxId;

    public LayerDecay(HicmaeConfig c, double decay) {
        if (!(decay > 0 && decay <= 1)) {
            throw new IllegalArgumentException("Invalid value " + decay + " for configuration layer-decay: must be in (0, 1]");
        }
        this.decay = decay;
        this.depth = Math.max(c.depth(), c.depthAudio());
        this.maxId = depth + c.fusionDepth() + 1;
    }

    /** The layer id of a parameter by authors' key. */
    public int layerId(String key) {
        if (key.startsWith("encoder.patch_embed.") || key.startsWith("encoder_audio.patch_embed.")) {
            return 0;
        }
        for (String prefix : new String[] {"encoder.blocks.", "encoder_audio.blocks."}) {
            if (key.startsWith(prefix)) {
                return index(key, prefix) + 1;
            }
        }
        for (String prefix : new String[] {"encoder_fusion.blocks.", "encoder_fusion.blocks_audio."}) {
            if (key.startsWith(prefix)) {
                return depth + 1 + index(key, prefix);
            }
        }
        return maxId;
    }

    /** The lr multiplier of a parameter. */
    public double scale(String key) {
        return Math.pow(decay, maxId - layerId(key));
    }

    private static int index(String key, String prefix) {
        String rest = key.substring(prefix.length());
        return Integer.parseInt(rest.substring(0, rest.indexOf('.')));
    }
}
