package io.hicmae.runtime.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.io.Npz;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelStructureTest {

    private static Path golden(String file) {
        return Path.of(System.getProperty("hicmae.golden.dir", "../../shared/golden"), file);
    }

    @Test
    void preTrainingParameterCountsMatchTheAuthorsModels() {
        assertEquals(99_609_344L, StateDict.count(new HicmaePretrainModel(HicmaeConfig.base())));
        assertEquals(50_584_576L, StateDict.count(new HicmaePretrainModel(HicmaeConfig.small())));
        assertEquals(257_696L, StateDict.count(new HicmaePretrainModel(HicmaeConfig.tiny())));
    }

    @Test
    void fineTuningBackboneCountsMatchTheAuthorsModels() {
        // Backbone = everything but the classifier head; the head adds 4C + 1 per class.
        assertEquals(80_780_308L, backbone(HicmaeConfig.base(), 7));
        assertEquals(45_643_028L, backbone(HicmaeConfig.small(), 7));
        assertEquals(20_467_220L, backbone(HicmaeConfig.hicmaeT(), 7));
    }

    private static long backbone(HicmaeConfig c, int classes) {
        HicmaeFinetuneModel m = new HicmaeFinetuneModel(c, classes, 0.1f);
        return StateDict.count(m) - (long) classes * (4L * c.embedDim() + 1);
    }

    @Test
    void everyGoldenWeightKeyMapsOneToOneWithEqualShapes() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> weights = Npz.read(m, golden("weights.npz"));
            Map<String, Parameter> params = StateDict.parameters(new HicmaePretrainModel(HicmaeConfig.tiny()));
            assertEquals(weights.keySet(), params.keySet());
            for (Map.Entry<String, NDArray> e : weights.entrySet()) {
                assertEquals(e.getValue().getShape(), params.get(e.getKey()).getShape(), e.getKey());
            }
        }
    }

    @Test
    void baseModelHasTheAuthors540StateDictEntries() {
        Map<String, Parameter> p = StateDict.parameters(new HicmaePretrainModel(HicmaeConfig.base()));
        assertEquals(540, p.size());
        assertEquals(new Shape(1536, 512), p.get("encoder.blocks.9.attn.qkv.weight").getShape());
        assertEquals(new Shape(1024, 512), p.get("encoder_fusion.blocks_audio.1.cross_attn.kv.weight").getShape());
        assertEquals(new Shape(256, 384), p.get("decoder_audio.head.weight").getShape());
        assertEquals(new Shape(384, 512), p.get("encoder_to_decoder.weight").getShape());
        assertEquals(370, StateDict.parameters(new HicmaeFinetuneModel(HicmaeConfig.base(), 7, 0f)).size());
    }

    @Test
    void loadNamesTheMissingKeyAndChangesNothing() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            HicmaePretrainModel model = new HicmaePretrainModel(HicmaeConfig.tiny());
            model.initialize(m, DataType.FLOAT32, new Shape(1));
            float[] before = model.getParameters().get(0).getValue().getArray().toFloatArray();
            Map<String, NDArray> weights = new LinkedHashMap<>(Npz.read(m, golden("weights.npz")));
            weights.remove("decoder.head.bias");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> StateDict.load(model, weights, "w.npz", true));
            assertTrue(e.getMessage().contains("decoder.head.bias") && e.getMessage().contains("w.npz"),
                    e.getMessage());
            assertArrayEquals(before, model.getParameters().get(0).getValue().getArray().toFloatArray());
        }
    }

    @Test
    void loadNamesTheKeyWithTheWrongShape() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            HicmaePretrainModel model = new HicmaePretrainModel(HicmaeConfig.tiny());
            model.initialize(m, DataType.FLOAT32, new Shape(1));
            float[] before = model.getParameters().get(0).getValue().getArray().toFloatArray();
            Map<String, NDArray> weights = new LinkedHashMap<>(Npz.read(m, golden("weights.npz")));
            weights.put("encoder.norm.weight", m.zeros(new Shape(31)));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> StateDict.load(model, weights, "w.npz", true));
            assertTrue(e.getMessage().contains("encoder.norm.weight") && e.getMessage().contains("(31)"),
                    e.getMessage());
            assertArrayEquals(before, model.getParameters().get(0).getValue().getArray().toFloatArray());
        }
    }

    @Test
    void strictLoadRejectsKeysTheModelDoesNotHave() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            HicmaeFinetuneModel model = new HicmaeFinetuneModel(HicmaeConfig.tiny(), 5, 0f);
            model.initialize(m, DataType.FLOAT32, new Shape(1));
            Map<String, NDArray> weights = new LinkedHashMap<>(Npz.read(m, golden("weights.npz")));
            weights.putAll(Npz.read(m, golden("finetune_weights.npz")));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> StateDict.load(model, weights, "w.npz", true));
            assertTrue(e.getMessage().contains("decoder"), e.getMessage());
            StateDict.load(model, weights, "w.npz", false); // as upstream's fine-tuning load: decoders ignored
        }
    }

    @Test
    void configRejectsInconsistentSizesNamingTheKey() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new HicmaeConfig("bad", 160, 16, 2, 16, 64, 3, 5, 256, 128, 16, 3, 4, 1, 4, 32, 4, 2, 32, 4, 2,
                        4.0, 1e-6f, new int[] {0, 1, 2}, 0.9, 0.8, 0.07f, 0.0025f));
        assertTrue(e.getMessage().startsWith("Invalid value 5 for configuration numHeads"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> new HicmaeConfig("bad", 160, 16, 2, 16, 64, 3, 4, 256, 128, 16, 3, 4, 1, 4, 32, 3, 2, 32, 4, 2,
                        4.0, 1e-6f, new int[] {0, 1, 2}, 0.9, 0.8, 0.07f, 0.0025f));
        assertTrue(e.getMessage().contains("decoderDepth"), e.getMessage());
    }

    @Test
    void derivedTokenCountsFollowTheAuthorsRounding() {
        HicmaeConfig b = HicmaeConfig.base();
        assertEquals(800, b.videoTokens());
        assertEquals(80, b.videoVisible());
        assertEquals(128, b.audioTokens());
        assertEquals(26, b.audioVisible());
        assertEquals(1536, b.videoPatchDim());
        HicmaeConfig t = HicmaeConfig.tiny();
        assertEquals(96, t.videoMasked());
        assertEquals(25, t.audioMasked());
    }
}
