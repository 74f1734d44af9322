package io.hicmae.driver.finetune;

import ai.djl.Device;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.LabelSpace;
import io.hicmae.runtime.io.Safetensors;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.PretrainTrainer;
import io.hicmae.runtime.train.TrainOptions;
import io.hicmae.zoo.ModelRef;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.VersionDetails;
import io.hicmae.zoo.VersionInfo;
import io.hicmae.zoo.VersionMetadata;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fine-tuning and evaluation end to end in Spark local mode, tiny preset: a pre-trained parent published to a zoo,
 * a labelled dataset of 6 generated videos x 2 clips (3 classes; videos 0-3 train, 4-5 val; folds v % 3).
 */
class FinetuneJobTest {

    @TempDir static Path dir;
    static SparkSession spark;
    static Path data;
    static Path zoo;

    @BeforeAll
    static void start() throws Exception {
        spark = io.hicmae.driver.LocalSessions.training(2, "finetune-test").getOrCreate();
        data = dir.resolve("labelled");
        LabelledDatasets.write(spark, data, LabelSpace.Kind.CATEGORICAL, 6, 2, 4, 3);
        zoo = dir.resolve("zoo");
        publishParent(zoo, "base");
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    /** A randomly initialised tiny pre-training model as version 1 of {@code name}: the parent to fine-tune. */
    static void publishParent(Path zooDir, String name) throws Exception {
        HicmaeConfig tiny = HicmaeConfig.tiny();
        Path weights = dir.resolve(name + ".safetensors");
        try (PretrainTrainer t = new PretrainTrainer(tiny, new TrainOptions(1e-3, 1e-5, 0, 1, 2, 0,
                AdamW.Settings.pretraining()), Device.cpu(), 3)) {
            Safetensors.write(weights, t.state().parameters(), Map.of("format", "pt"));
        }
        try (ModelZoo z = ModelZoo.open(zooDir.toString())) {
            z.publish(PublishRequest.builder(name).setWeights(weights).setConfig(tiny.toJson())
                    .setMetadata(VersionMetadata.builder().setRunId("pretrain-run").setDataset(URI.create("file:/d"),
                            "0".repeat(64)).setCodeVersion("test").build()).build());
        }
    }

    static FinetuneConfig config(String... extra) {
        Map<String, String> raw = new HashMap<>();
        raw.put("zoo", zoo.toString());
        raw.put("from", "base");
        raw.put("train", data.toString());
        raw.put("batch-size", "2");
        raw.put("epochs", "1");
        raw.put("warmup-epochs", "0.5");
        raw.put("io-timeout-s", "120");
        for (int i = 0; i < extra.length; i += 2) {
            raw.put(extra[i], extra[i + 1]);
        }
        return FinetuneConfig.parse(raw);
    }

    private static FinetuneJob.Outcome finetune(FinetuneConfig cfg) throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        FinetuneJob.Outcome out = new FinetuneJob(cfg, new PrintStream(console, true, StandardCharsets.UTF_8))
                .run(spark);
        System.out.print(console.toString(StandardCharsets.UTF_8));
        return out;
    }

    @Test
    void oneRankPublishesAVersionWithParentLineageLabelSpaceAndValidationScores() throws Exception {
        FinetuneJob.Outcome out = finetune(config("model", "emo1"));
        FinetuneJob.FoldOutcome f = out.folds().get(0);
        assertEquals(4, f.steps(), "8 train clips / (1 rank x 2) = 4 steps");
        try (ModelZoo z = ModelZoo.open(zoo.toString())) {
            VersionDetails d = z.describe(ModelRef.parse("emo1"));
            assertEquals("base:v000001", d.metadata().parentVersion());
            JsonObject job = d.metadata().jobConfig();
            assertEquals("categorical", job.getAsJsonObject("label_space").get("kind").getAsString());
            assertTrue(d.metadata().finalLosses().containsKey("val_uar"), d.metadata().finalLosses().toString());
            String card = read(z, d.info(), "README.md");
            assertTrue(card.contains("val_war") && card.contains("label_space.names") && card.contains("base:v000001"),
                    card);
            assertEquals(LabelSpace.Kind.CATEGORICAL, FinetuneJob.parseLabelSpace(
                    read(z, d.info(), FinetuneJob.LABEL_SPACE_FILE), "label_space.json").kind());
            z.verify(ModelRef.parse("emo1"));
        }
    }

    @Test
    void twoRanksAgreeAndEvaluateWritesMetricsJsonAndConfusionPng() throws Exception {
        FinetuneJob.Outcome out = finetune(config("model", "emo2", "world-size", "2", "epochs", "2"));
        FinetuneJob.FoldOutcome f = out.folds().get(0);
        assertEquals(4, f.steps(), "8 clips / (2 ranks x 2) = 2 steps per epoch, 2 epochs");
        assertEquals(2, f.ranks().size());
        assertEquals(f.ranks().get(0).parameterDigest(), f.ranks().get(1).parameterDigest());

        Path json = dir.resolve("eval.json");
        Map<String, String> raw = Map.of("zoo", zoo.toString(), "model", "emo2", "data", data.toString(),
                "split", "val", "json", json.toString());
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        EvaluateJob.Outcome e = new EvaluateJob(EvaluateConfig.parse(raw),
                new PrintStream(console, true, StandardCharsets.UTF_8)).run(spark);
        String log = console.toString(StandardCharsets.UTF_8);
        System.out.print(log);
        assertTrue(log.contains("war") && log.contains("confusion matrix"), log);
        JsonObject metrics = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertEquals(List.of("emo2:v000001"), List.of(metrics.getAsJsonArray("versions").get(0).getAsString()));
        long videos = 0;
        for (var row : metrics.getAsJsonArray("confusion_matrix")) {
            for (var c : row.getAsJsonArray()) {
                videos += c.getAsLong();
            }
        }
        assertEquals(2, videos, "the val split has videos 4 and 5, each scored once from its 2 clips");
        Path where = Path.of(e.locations().get(0));
        assertTrue(where.startsWith(zoo.resolve("_evaluations/emo2/v000001")), where.toString());
        byte[] png = Files.readAllBytes(where.resolve("confusion-matrix.png"));
        assertEquals((byte) 0x89, png[0]);
        assertEquals('P', png[1]);
        assertTrue(Files.exists(where.resolve("metrics.json")));
        try (ModelZoo z = ModelZoo.open(zoo.toString())) {
            z.verify(ModelRef.parse("emo2")); // the version's own files are untouched
        }
    }

    @Test
    void foldsPublishOneVersionPerFoldAndEvaluateReportsMeanAndStd() throws Exception {
        FinetuneJob.Outcome out = finetune(config("model", "emo3", "folds", "3", "max-steps", "2"));
        assertEquals(3, out.folds().size());
        assertTrue(out.summaryTable().contains("mean") && out.summaryTable().contains("val_uar"),
                out.summaryTable());
        try (ModelZoo z = ModelZoo.open(zoo.toString())) {
            for (int k = 0; k < 3; k++) {
                VersionDetails d = z.describe(ModelRef.parse("emo3-fold" + k));
                assertEquals(Integer.toString(k), d.metadata().jobConfig().get("fold").getAsString());
            }
        }
        Map<String, String> raw = Map.of("zoo", zoo.toString(), "model", "emo3", "data", data.toString(),
                "folds", "3");
        EvaluateJob.Outcome e = new EvaluateJob(EvaluateConfig.parse(raw), System.out).run(spark);
        JsonObject metrics = JsonParser.parseString(e.json()).getAsJsonObject();
        assertEquals(3, metrics.get("folds").getAsInt());
        var uar = metrics.getAsJsonObject("metrics").getAsJsonObject("uar").getAsJsonArray("folds");
        assertEquals(3, uar.size());
        for (int k = 0; k < 3; k++) {
            assertEquals(out.folds().get(k).validation().get("val_uar"), uar.get(k).getAsDouble(), 1e-9,
                    "fold " + k + ": evaluate scores the same views with the same weights as the last validation");
        }
        assertEquals(3, e.locations().size());
        assertNotEquals(e.locations().get(0), e.locations().get(1));
    }

    @Test
    void aFailedRankIsRetriedFromTheLastCheckpoint() throws Exception {
        ByteArrayOutputStream console = new ByteArrayOutputStream();
        FinetuneJob.Outcome out = new FinetuneJob(config("model", "emo4", "checkpoint-every", "1",
                "retry-backoff-ms", "100"), new PrintStream(console, true, StandardCharsets.UTF_8),
                new io.hicmae.driver.spark.RunPlan.Fault(0, 2, 1)).run(spark);
        String log = console.toString(StandardCharsets.UTF_8);
        System.out.print(log);
        assertTrue(log.contains("finetune: attempt 1 of 3 failed") && log.contains("resuming from step 2"), log);
        assertEquals(2, out.folds().get(0).ranks().get(0).resumedFrom());
        assertEquals(4, out.folds().get(0).ranks().get(0).steps());
    }

    @Test
    void regressionReportsPccAndCccPerDimension() throws Exception {
        Path dims = dir.resolve("dimensional");
        LabelledDatasets.write(spark, dims, LabelSpace.Kind.DIMENSIONAL, 6, 2, 4, 3);
        finetune(config("model", "dims", "train", dims.toString(), "mixup", "0", "cutmix", "0", "smoothing", "0"));
        EvaluateJob.Outcome e = new EvaluateJob(EvaluateConfig.parse(Map.of("zoo", zoo.toString(), "model", "dims",
                "data", dims.toString(), "split", "*")), System.out).run(spark);
        JsonObject m = JsonParser.parseString(e.json()).getAsJsonObject().getAsJsonObject("metrics");
        for (String k : new String[] {"pcc.arousal", "pcc.valence", "ccc.arousal", "ccc.valence", "ccc.mean"}) {
            assertTrue(m.has(k), k + " in " + m.keySet());
        }
        assertTrue(Files.notExists(Path.of(e.locations().get(0)).resolve("confusion-matrix.png")));
    }

    @Test
    void unlabelledDataAndMismatchedLabelSpacesAreRefusedBeforeTraining() throws Exception {
        Path bare = dir.resolve("unlabelled");
        LabelledDatasets.write(spark, bare, LabelSpace.Kind.CATEGORICAL, 2, 1, 2, 1);
        Files.writeString(bare.resolve("_dataset.json"), "{\"schema_version\": 2}");
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> new FinetuneJob(config("train", bare.toString()), System.out).run(spark));
        assertTrue(e.getMessage().startsWith("Invalid value " + bare + " for configuration train: the dataset has no "
                + "labels"), e.getMessage());

        Path dims = dir.resolve("dimensional-val");
        LabelledDatasets.write(spark, dims, LabelSpace.Kind.DIMENSIONAL, 2, 1, 0, 1);
        e = assertThrows(IllegalArgumentException.class,
                () -> new FinetuneJob(config("val", dims.toString()), System.out).run(spark));
        assertTrue(e.getMessage().startsWith("Invalid value " + dims + " for configuration val: its label space "
                + "dimensional [arousal, valence] differs"), e.getMessage());

        e = assertThrows(IllegalArgumentException.class, () -> new EvaluateJob(EvaluateConfig.parse(Map.of(
                "zoo", zoo.toString(), "model", "base", "data", data.toString())), System.out).run(spark));
        assertTrue(e.getMessage().contains("is not a fine-tuned version"), e.getMessage());
    }

    private static String read(ModelZoo z, VersionInfo v, String file) throws Exception {
        try (InputStream in = z.open(v, file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
