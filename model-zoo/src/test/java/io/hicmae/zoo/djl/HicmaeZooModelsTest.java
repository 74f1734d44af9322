package io.hicmae.zoo.djl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.inference.Predictor;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.repository.zoo.Criteria;
import ai.djl.repository.zoo.ZooModel;
import ai.djl.training.ParameterStore;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipTensors;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.io.Safetensors;
import io.hicmae.runtime.model.HicmaeEncoder;
import io.hicmae.runtime.model.HicmaePretrainModel;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.model.Trace;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.VersionInfo;
import io.hicmae.zoo.VersionMetadata;
import io.hicmae.zoo.ZooConfig;
import io.hicmae.zoo.ZooException;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Round trip: pre-training weights published as a training run publishes them, pulled and loaded through the DJL
 * Criteria, embed clips exactly as an in-memory {@link HicmaeEncoder} with the same state dict does (tiny config).
 */
class HicmaeZooModelsTest {
    private static final HicmaeConfig CONFIG = HicmaeConfig.tiny();
    private static final double TOLERANCE = 1e-5; // rtol and atol

    @TempDir
    Path local;

    private ModelZoo zoo;
    private NDManager manager;
    private int runs;

    @BeforeEach
    void open() throws IOException {
        Configuration conf = new Configuration();
        conf.set(ZooConfig.CACHE_DIR, local.resolve("cache").toString());
        zoo = ModelZoo.open(Files.createDirectories(local.resolve("zoo")).toUri(), conf);
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() throws IOException {
        manager.close();
        zoo.close();
    }

    @Test
    void embeddingsThroughCriteriaEqualTheInMemoryEncoders() throws Exception {
        Map<String, NDArray> first = pretrainingWeights(1);
        Map<String, NDArray> second = pretrainingWeights(2);
        publish("tiny-enc", first, CONFIG.toJson());
        publish("tiny-enc", second, CONFIG.toJson());
        GeneratedClips generated = new GeneratedClips(CONFIG, 7, 3);
        List<HicmaeClip> clips = List.of(clip(generated.clip(0)), clip(generated.clip(1)));
        float[][] expected = embed(second, clips);

        Criteria<HicmaeClip, float[]> criteria = HicmaeZooModels.criteria(zoo, "tiny-enc@latest");
        try (ZooModel<HicmaeClip, float[]> model = criteria.loadModel();
                Predictor<HicmaeClip, float[]> predictor = model.newPredictor()) {
            List<float[]> batch = predictor.batchPredict(clips);
            for (int i = 0; i < clips.size(); i++) {
                assertEquals(4 * CONFIG.embedDim(), batch.get(i).length);
                assertClose("batchPredict clip " + i, expected[i], batch.get(i));
                assertClose("predict clip " + i, expected[i], predictor.predict(clips.get(i)));
            }
            float[][] otherSeed = embed(first, clips);
            float diff = maxAbsDiff(otherSeed[0], batch.get(0));
            assertTrue(diff > 1e-3, "seed 1's weights give nearly the same embedding: max abs diff " + diff);
        }
    }

    @Test
    void configWithoutAKeyFailsNamingZooVersionAndKey() throws Exception {
        JsonObject config = JsonParser.parseString(CONFIG.toJson()).getAsJsonObject();
        config.getAsJsonObject("pretrain").remove("encoder_depth");
        publish("broken", pretrainingWeights(1), config.toString());

        ZooException e = assertThrows(ZooException.class, () -> HicmaeZooModels.criteria(zoo, "broken"));

        assertMentions(e.getMessage(), "config.json", zoo.root().toString(), "broken:v000001", "encoder_depth");
    }

    @Test
    void versionWhoseCachedConfigIsGoneFailsNamingIt() throws Exception {
        VersionInfo v = publish("tiny-enc", pretrainingWeights(1), CONFIG.toJson());
        Files.delete(zoo.fetch(v.ref()).resolve(PublishRequest.CONFIG));

        ZooException e = assertThrows(ZooException.class, () -> HicmaeZooModels.criteria(zoo, "tiny-enc"));

        assertMentions(e.getMessage(), "has no config.json", zoo.root().toString(), "tiny-enc:v000001");
    }

    @Test
    void weightsWithoutAKeyFailNamingZooVersionAndKey() throws Exception {
        Map<String, NDArray> weights = new LinkedHashMap<>(pretrainingWeights(1));
        weights.remove("encoder_fusion.norm_audio.weight");
        publish("partial", weights, CONFIG.toJson());
        Criteria<HicmaeClip, float[]> criteria = HicmaeZooModels.criteria(zoo, "partial");

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, criteria::loadModel);

        assertMentions(e.getMessage(), "model.safetensors", zoo.root().toString(), "partial:v000001",
                "encoder_fusion.norm_audio.weight");
    }

    /** Every key of a freshly initialised pre-training model, decoders included, as a training run publishes. */
    private Map<String, NDArray> pretrainingWeights(int seed) {
        Engine.getInstance().setRandomSeed(seed);
        HicmaePretrainModel model = new HicmaePretrainModel(CONFIG);
        model.initialize(manager, DataType.FLOAT32, new Shape(1));
        return StateDict.arrays(model);
    }

    private VersionInfo publish(String model, Map<String, NDArray> weights, String configJson) throws IOException {
        Path file = Files.createTempFile(local, "weights", ".safetensors");
        Safetensors.write(file, weights, Map.of("format", "pt"));
        return zoo.publish(PublishRequest.builder(model)
                .setWeights(file)
                .setConfig(configJson)
                .setMetadata(VersionMetadata.builder()
                        .setRunId("run-" + ++runs)
                        .setDataset(URI.create("file:/data/generated"), "b".repeat(64))
                        .setSteps(0)
                        .setCodeVersion("test")
                        .build())
                .build());
    }

    private static HicmaeClip clip(GeneratedClips.Clip c) {
        return new HicmaeClip(c.frames(), c.pcm());
    }

    /** The reference path: the in-memory encoder on a (B, ...) batch built without the translator. */
    private float[][] embed(Map<String, NDArray> weights, List<HicmaeClip> clips) {
        try (NDManager m = manager.newSubManager()) {
            HicmaeEncoder encoder = new HicmaeEncoder(CONFIG);
            encoder.initialize(m, DataType.FLOAT32, new Shape(1));
            encoder.loadWeights(weights, "in-memory");
            int b = clips.size();
            int t = CONFIG.numFrames();
            int side = CONFIG.imgSize();
            int clipVideo = 3 * t * side * side;
            int clipAudio = CONFIG.audioFrames() * CONFIG.audioMelBins();
            float[] video = new float[b * clipVideo];
            float[] audio = new float[b * clipAudio];
            KaldiFbank fbank = new KaldiFbank(CONFIG.audioMelBins());
            for (int i = 0; i < b; i++) {
                ClipTensors.normalizeFrames(clips.get(i).framesRgb(), t, side, side, video, i * clipVideo);
                float[] fb = fbank.modelInput(clips.get(i).pcm16(), CONFIG.audioFrames(), 1f);
                System.arraycopy(fb, 0, audio, i * clipAudio, clipAudio);
            }
            NDArray embedding = encoder.embed(new ParameterStore(m, false),
                    m.create(video, new Shape(b, 3, t, side, side)),
                    m.create(audio, new Shape(b, 1, CONFIG.audioFrames(), CONFIG.audioMelBins())), false, Trace.OFF);
            float[] flat = embedding.toFloatArray();
            int width = (int) encoder.embeddingSize();
            float[][] out = new float[b][width];
            for (int i = 0; i < b; i++) {
                System.arraycopy(flat, i * width, out[i], 0, width);
            }
            return out;
        }
    }

    private static void assertClose(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - actual[i]) <= TOLERANCE + TOLERANCE * Math.abs(expected[i]),
                    what + ": max abs diff " + maxAbsDiff(expected, actual) + " (first at index " + i + ")");
        }
    }

    private static float maxAbsDiff(float[] a, float[] b) {
        float max = 0;
        for (int i = 0; i < a.length; i++) {
            max = Math.max(max, Math.abs(a[i] - b[i]));
        }
        return max;
    }

    private static void assertMentions(String message, String... parts) {
        for (String part : parts) {
            assertTrue(message.contains(part), "message lacks '" + part + "': " + message);
        }
    }
}
