package io.hicmae.runtime.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.io.Npz;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The feature extractor against the golden fine-tuning tensors (tiny config, forward tolerance rtol 1e-4, atol 1e-5). */
class HicmaeEncoderTest {

    private static final double RTOL = 1e-4;
    private static final double ATOL = 1e-5;

    private static Path golden(String file) {
        return Path.of(System.getProperty("hicmae.golden.dir", "../../shared/golden"), file);
    }

    private static HicmaeEncoder encoder(NDManager m) {
        HicmaeEncoder encoder = new HicmaeEncoder(HicmaeConfig.tiny());
        encoder.initialize(m, DataType.FLOAT32, new Shape(1));
        return encoder;
    }

    @Test
    void fineTunedCheckpointGivesTheGoldenPreNormFeature() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            HicmaeEncoder encoder = encoder(m);
            Map<String, NDArray> weights = new LinkedHashMap<>(Npz.read(m, golden("weights.npz")));
            weights.putAll(Npz.read(m, golden("finetune_weights.npz"))); // learnt layer logits; fc_norm, head ignored
            encoder.loadWeights(weights, "golden");
            Map<String, NDArray> in = Npz.read(m, golden("finetune_inputs.npz"));
            Map<String, NDArray> out = Npz.read(m, golden("finetune_outputs.npz"));

            NDArray embedding = encoder.embed(new ParameterStore(m, false), in.get("video"), in.get("audio"), false,
                    Trace.OFF);

            assertEquals(new Shape(2, encoder.embeddingSize()), embedding.getShape());
            assertClose("final_feature_pre_norm", embedding, out.get("final_feature_pre_norm"));
        }
    }

    @Test
    void preTrainingCheckpointWeighsEveryLayerEqually() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            HicmaeEncoder encoder = encoder(m);
            encoder.loadWeights(Npz.read(m, golden("weights.npz")), "golden weights.npz");
            Map<String, NDArray> in = Npz.read(m, golden("finetune_inputs.npz"));
            Map<String, NDArray> out = Npz.read(m, golden("finetune_outputs.npz"));
            Trace trace = Trace.recording();

            encoder.embed(new ParameterStore(m, false), in.get("video"), in.get("audio"), false, trace);

            for (String tag : new String[] {"video", "audio"}) {
                float[] softmax = trace.values().get(tag + "_layer_softmax").toFloatArray();
                float[] uniform = new float[softmax.length];
                Arrays.fill(uniform, 1f / softmax.length);
                assertArrayEquals(uniform, softmax, 1e-7f, tag + "_layer_softmax");
                // The pooled layers do not depend on the layer logits, so the golden ones give the expected mean.
                assertClose(tag + "_feature", trace.values().get(tag + "_feature"),
                        out.get(tag + "_layers_pooled").mean(new int[] {1}));
            }
        }
    }

    @Test
    void rejectsACheckpointWithOnlyOneLayerWeightKey() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            HicmaeEncoder encoder = encoder(m);
            Map<String, NDArray> weights = new LinkedHashMap<>(Npz.read(m, golden("weights.npz")));
            weights.put(HicmaeEncoder.VIDEO_LAYER_WEIGHTS, m.zeros(new Shape(5)));

            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> encoder.loadWeights(weights, "w.safetensors"));

            assertTrue(e.getMessage().startsWith("w.safetensors: missing key audio_layer_weights"), e.getMessage());
        }
    }

    private static void assertClose(String key, NDArray actual, NDArray expected) {
        assertEquals(expected.getShape(), actual.getShape(), key);
        float maxDiff = actual.sub(expected).abs().max().getFloat();
        assertTrue(actual.allClose(expected, RTOL, ATOL, false), key + ": max abs diff " + maxDiff);
    }
}
