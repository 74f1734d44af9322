package io.hicmae.runtime.optim;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.config.HicmaeConfig;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OptimTest {

    @Test
    void warmupIsNumpyLinspaceFromZeroThenCosineToTheEnd() {
        LrSchedule s = new LrSchedule(1.0, 0.1, 0.0, 5, 15);
        assertEquals(0.0, s.at(0), 1e-12);
        assertEquals(0.25, s.at(1), 1e-12); // linspace(0, 1, 5) = 0, .25, .5, .75, 1
        assertEquals(1.0, s.at(4), 1e-12);
        assertEquals(1.0, s.at(5), 1e-12); // cosine starts at the peak
        assertEquals(0.1 + 0.45 * (1 + Math.cos(Math.PI * 9 / 10)), s.at(14), 1e-12);
        assertEquals(s.at(14), s.at(100), 1e-12);
    }

    @Test
    void lrScalesWithTheGlobalBatchAsTheReleaseScript() {
        assertEquals(1.875e-4, LrSchedule.scaleByBatch(3e-4, 160), 1e-12);
    }

    @Test
    void noDecayGroupFollowsUpstreamIncludingTheMaskTokenAudioQuirk() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertFalse(AdamW.decays("encoder.norm.weight", m.zeros(new Shape(4))));
            assertFalse(AdamW.decays("encoder.patch_embed.proj.bias", m.zeros(new Shape(4))));
            assertFalse(AdamW.decays("mask_token", m.zeros(new Shape(1, 1, 4))));
            assertTrue(AdamW.decays("mask_token_audio", m.zeros(new Shape(1, 1, 4))));
            assertTrue(AdamW.decays("encoder.blocks.0.attn.qkv.weight", m.zeros(new Shape(12, 4))));
        }
    }

    @Test
    void layerIdsFollowTheSpec() {
        LayerDecay d = new LayerDecay(HicmaeConfig.base(), 0.75);
        assertEquals(0, d.layerId("encoder.patch_embed.proj.weight"));
        assertEquals(0, d.layerId("encoder_audio.patch_embed.proj.bias"));
        assertEquals(1, d.layerId("encoder.blocks.0.attn.qkv.weight"));
        assertEquals(10, d.layerId("encoder_audio.blocks.9.mlp.fc2.bias"));
        assertEquals(11, d.layerId("encoder_fusion.blocks.0.norm1.weight"));
        assertEquals(12, d.layerId("encoder_fusion.blocks_audio.1.cross_attn.kv.weight"));
        assertEquals(13, d.layerId("fc_norm.weight"));
        assertEquals(13, d.layerId("video_layer_weights"));
        assertEquals(13, d.layerId("encoder.norm.weight"));
        assertEquals(1.0, d.scale("head.weight"), 1e-12);
        assertEquals(Math.pow(0.75, 13), d.scale("encoder.patch_embed.proj.weight"), 1e-12);
    }

    @Test
    void settingsRejectBadValuesNamingTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new AdamW.Settings(0.9, 1.0, 1e-8, 0.05));
        assertTrue(e.getMessage().contains("beta2"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1, 0, 0, 20, 10));
    }
}
