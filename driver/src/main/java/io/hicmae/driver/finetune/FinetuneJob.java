package io.hicmae.driver.finetune;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.driver.config.ConfigException;
import io.hicmae.driver.spark.BarrierStage;
import io.hicmae.driver.spark.Lineage;
import io.hicmae.driver.spark.LiveProgress;
import io.hicmae.driver.spark.ProgressPrinter;
import io.hicmae.driver.spark.RankResult;
import io.hicmae.driver.spark.RunPlan;
import io.hicmae.driver.spark.RunStatusWriter;
import io.hicmae.driver.spark.TrainingRankTask;
import io.hicmae.driver.spark.RunCheckpoints;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.LabelSpace;
import io.hicmae.runtime.finetune.MetricsReport;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ContentWriter;
import io.hicmae.zoo.ModelRef;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.StepMetrics;
import io.hicmae.zoo.VersionInfo;
import io.hicmae.zoo.VersionMetadata;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The fine-tuning job on the driver: resolves the pre-trained parent in the zoo, reads the labelled datasets
 * (the task comes from their label space), picks the training clips and validation views (by split, or per fold),
 * runs each fold as one barrier stage ({@link BarrierStage}: slot wait, retries from the last checkpoint), checks
 * that the ranks agree, and publishes each fold's result as a new version whose lineage names the parent and whose
 * model card carries the label space and the validation scores. With folds it prints the mean and std over folds.
 */
public final class FinetuneJob {

    /** The file of a fine-tuned version that names its label space: what {@code evaluate} scores against. */
    public static final String LABEL_SPACE_FILE = "label_space.json";

    /**
     * One fold's result.
     *
     * @param fold the fold, or -1 without folds
     * @param runId its run
     * @param version the published version
     * @param ranks what each rank reported
     * @param steps optimiser steps
     * @param validation the last epoch's validation report
     */
    public record FoldOutcome(int fold, String runId, VersionInfo version, List<RankResult> ranks, long steps,
            Map<String, Double> validation) {}

    /** Every fold's outcome, and over folds the report of the final validation scores (null without folds). */
    public record Outcome(List<FoldOutcome> folds, String summaryTable) {}

    private final FinetuneConfig cfg;
    private final PrintStream console;
    private final RunPlan.Fault fault;

    public FinetuneJob(FinetuneConfig cfg, PrintStream console) {
        this(cfg, console, null);
    }

    /** A job that injects {@code fault} into every fold's training (tests only). */
    FinetuneJob(FinetuneConfig cfg, PrintStream console, RunPlan.Fault fault) {
        this.cfg = cfg;
        this.console = console;
        this.fault = fault;
    }

    /** A session for this job: see {@link BarrierStage#session}. */
    public static SparkSession session(FinetuneConfig cfg) {
        return BarrierStage.session(cfg.stage(), FinetuneKryoRegistrator.class);
    }

    public Outcome run(SparkSession spark) throws IOException {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        try (ModelZoo zoo = ModelZoo.open(ModelZoo.rootUri(cfg.zoo()), hadoop)) {
            VersionInfo parent = zoo.resolve(cfg.fromRef());
            String configJson;
            try (InputStream in = zoo.open(parent, PublishRequest.CONFIG)) {
                configJson = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            }
            HicmaeConfig model = HicmaeConfig.fromJson(configJson, parent.ref() + "/" + PublishRequest.CONFIG);
            LabelSpace trainSpace = LabelledClips.space(cfg.train(), FinetuneConfig.TRAIN, hadoop);
            LabelSpace valSpace = LabelledClips.space(cfg.val(), FinetuneConfig.VAL, hadoop);
            if (!trainSpace.equals(valSpace)) {
                throw new ConfigException(FinetuneConfig.VAL, cfg.val(), "its label space " + describe(valSpace)
                        + " differs from the train dataset's " + describe(trainSpace));
            }
            boolean mixing = trainSpace.kind() == LabelSpace.Kind.CATEGORICAL && cfg.mixup().enabled();
            if (mixing && cfg.batchSize() % 2 != 0) {
                throw new ConfigException(FinetuneConfig.BATCH_SIZE, cfg.batchSize(), "mixup and cutmix pair clip i "
                        + "with clip B-1-i, so the batch must be even (or set mixup and cutmix to 0)");
            }
            if (trainSpace.kind() == LabelSpace.Kind.DIMENSIONAL && (cfg.mixup().enabled() || cfg.smoothing() != 0)) {
                throw new ConfigException(FinetuneConfig.MIXUP, cfg.mixup().mixupAlpha() + "/"
                        + cfg.mixup().cutmixAlpha() + ", smoothing " + cfg.smoothing(), "the dataset is dimensional "
                        + "(regression): set mixup, cutmix and smoothing to 0");
            }
            LabelledClips train = LabelledClips.read(spark, cfg.train(), FinetuneConfig.TRAIN);
            LabelledClips val = cfg.val().equals(cfg.train()) ? train
                    : LabelledClips.read(spark, cfg.val(), FinetuneConfig.VAL);
            console.printf("finetune: %s from %s, %s task over %s, %d training and %d validation clips in all%n",
                    model.name(), parent.ref(), trainSpace.kind().name().toLowerCase(), trainSpace.names(),
                    train.entries().size(), val.entries().size());

            String baseRun = cfg.runId() != null ? cfg.runId() : Lineage.newRunId(cfg.model());
            List<FoldOutcome> outcomes = new ArrayList<>();
            if (cfg.folds() == 0) {
                List<ClipEntry> t = ClipSelection.split(train.entries(), cfg.trainSplit());
                List<ClipEntry> v = ClipSelection.views(ClipSelection.split(val.entries(), cfg.valSplit()), 2);
                requireClips(t, FinetuneConfig.TRAIN_SPLIT, cfg.trainSplit(), cfg.train());
                requireClips(v, FinetuneConfig.VAL_SPLIT, cfg.valSplit(), cfg.val());
                outcomes.add(runFold(spark, zoo, parent, configJson, train, -1, cfg.model(), baseRun, baseRun, t, v));
            } else {
                for (int k = 0; k < cfg.folds(); k++) {
                    List<ClipEntry> t = ClipSelection.fold(train.entries(), k, false);
                    List<ClipEntry> v = ClipSelection.views(ClipSelection.fold(train.entries(), k, true), 2);
                    requireClips(t, FinetuneConfig.FOLDS, cfg.folds(), cfg.train() + " outside fold " + k);
                    requireClips(v, FinetuneConfig.FOLDS, cfg.folds(), cfg.train() + " in fold " + k);
                    outcomes.add(runFold(spark, zoo, parent, configJson, train, k, foldModel(cfg.model(), k),
                            baseRun + "-fold" + k, baseRun, t, v));
                }
            }
            String table = null;
            if (cfg.folds() > 0) {
                table = summary(trainSpace, outcomes);
                console.printf("finetune: validation over %d folds (values x 100)%n%s", cfg.folds(), table);
            }
            return new Outcome(outcomes, table);
        }
    }

    /** The model name of fold k's version: {@code <model>-fold<k>}. */
    public static String foldModel(String model, int k) {
        return model + "-fold" + k;
    }

    private static void requireClips(List<ClipEntry> clips, String key, Object value, String where) {
        if (clips.isEmpty()) {
            throw new ConfigException(key, value, "no labelled clip of " + where + " is selected by it");
        }
    }

    private FoldOutcome runFold(SparkSession spark, ModelZoo zoo, VersionInfo parent, String configJson,
            LabelledClips data, int fold, String modelName, String runId, String resumeId, List<ClipEntry> train,
            List<ClipEntry> val) throws IOException {
        // zoo helper (#15 item 3): one writer per run; the ranks' checkpoint writes carry the lease epoch.
        try (RunCheckpoints.Lease lease = RunCheckpoints.lease(spark, zoo, runId, "finetune")) {
            return runLeasedFold(spark, zoo, parent, configJson, data, fold, modelName, runId, resumeId, train, val);
        }
    }

    private FoldOutcome runLeasedFold(SparkSession spark, ModelZoo zoo, VersionInfo parent, String configJson,
            LabelledClips data, int fold, String modelName, String runId, String resumeId, List<ClipEntry> train,
            List<ClipEntry> val) throws IOException {
        long stepsPerEpoch = ClipSelection.stepsPerEpoch(train.size(), cfg.worldSize(), cfg.batchSize());
        if (stepsPerEpoch < 1) {
            throw new ConfigException(FinetuneConfig.BATCH_SIZE, cfg.batchSize(), (fold >= 0 ? "fold " + fold
                    + " trains on " : "the train split has ") + train.size()
                    + " clips, fewer than world-size x batch-size = " + (long) cfg.worldSize() * cfg.batchSize());
        }
        long total = stepsPerEpoch * cfg.epochs();
        if (cfg.maxSteps() > 0) {
            total = Math.min(total, cfg.maxSteps());
        }
        long warmup = Math.min(total, Math.round(cfg.warmupEpochs() * stepsPerEpoch));
        zoo.checkpoints().latest(runId).ifPresent(c ->
                console.printf("finetune: resuming run %s from step %d%n", runId, c.step()));
        byte[] secret = Lineage.newSecret();
        String driverHost = BarrierStage.driverHost(spark);
        console.printf("finetune: run %s%s, %d training clips, %d validation views, %d rank(s) x %d clips, "
                        + "%d steps/epoch, %d steps%n", runId, fold >= 0 ? " (fold " + fold + ")" : "", train.size(),
                val.size(), cfg.worldSize(), cfg.batchSize(), stepsPerEpoch, total);
        ProgressPrinter printer = new ProgressPrinter(console, total, FinetuneJob::describeLine);
        RunStatusWriter status = RunStatusWriter.start(zoo, spark.sparkContext(), runId, modelName, total,
                cfg.worldSize());
        try {
            List<RankResult> results;
            try (LiveProgress live = LiveProgress.start(spark, cfg.stage(), runId, secret,
                    List.of(printer::accept, status::accept))) {
                FinetunePlan first = new FinetunePlan(cfg, new RunPlan(runId, secret, stepsPerEpoch, total, warmup,
                        1, driverHost, live.port(), fault), parent.ref().toString(), configJson, data.space().kind(),
                        data.space().names(), train, val);
                results = BarrierStage.run(spark, cfg.stage(), RankResult.class,
                        attempt -> {
                            live.attempt(attempt);
                            return new TrainingRankTask(first.withAttempt(attempt));
                        },
                        () -> zoo.checkpoints().latest(runId).map(c -> "step " + c.step()).orElse("the start"),
                        console, "run " + runId + " failed; its checkpoints stay in " + zoo.root()
                                + ", continue with --run-id " + resumeId);
            }
            Lineage.checkRanksAgree(results, RankResult::rank, RankResult::parameterDigest);
            RankResult rank0 = results.stream().filter(r -> r.rank() == 0).findFirst().orElseThrow();
            VersionInfo version = publish(zoo, spark.sparkContext().hadoopConfiguration(), parent, configJson, data,
                    fold, modelName, runId, total, rank0);
            console.printf("finetune: published %s (%s)%n", version.ref(), version.location());
            Map<String, Double> validation = new TreeMap<>(rank0.finalLosses());
            validation.remove("loss");
            status.finished(version.ref().toString(), total);
            return new FoldOutcome(fold, runId, version, results, total, validation);
        } catch (IOException | RuntimeException e) {
            status.failed(e);
            throw e;
        } finally {
            status.close();
        }
    }

    /** The console line of a metrics line: loss, lr and, at an epoch's end, the validation scores. */
    private static String describeLine(JsonObject o) {
        StringBuilder b = new StringBuilder(String.format("loss %.4f lr %.2e", o.get("loss").getAsDouble(),
                o.get("lr").getAsDouble()));
        for (String k : o.keySet()) {
            if (k.startsWith("val_") && !k.startsWith("val_weighted")) {
                b.append(String.format(" %s %.2f", k, 100 * o.get(k).getAsDouble()));
            }
        }
        return b.toString();
    }

    private VersionInfo publish(ModelZoo zoo, Configuration hadoop, VersionInfo parent, String configJson,
            LabelledClips data, int fold, String modelName, String runId, long total, RankResult rank0)
            throws IOException {
        Checkpoint cp = zoo.checkpoints().latest(runId)
                .orElseThrow(() -> new IllegalStateException("run " + runId + " finished without a checkpoint"));
        if (cp.step() != total) {
            throw new IllegalStateException("run " + runId + " ended at step " + total
                    + " but its newest checkpoint is " + cp.step());
        }
        java.nio.file.Path weights = Files.createTempFile("hicmae-weights-", ".safetensors");
        try {
            RunCheckpoints.writeWeights(zoo, cp, weights, runId);
            List<StepMetrics> metrics = new ArrayList<>();
            for (String line : RunCheckpoints.readMetrics(zoo, cp)) {
                JsonObject o = JsonParser.parseString(line).getAsJsonObject();
                Map<String, Double> values = new TreeMap<>();
                for (String k : o.keySet()) {
                    if (k.equals("loss") || k.equals("lr") || k.startsWith("val_") || k.equals("world_size")
                            || k.equals("resumed")) {
                        values.put(k, o.get(k).getAsDouble());
                    }
                }
                metrics.add(new StepMetrics(o.get("step").getAsLong(), values));
            }
            JsonObject job = new JsonObject();
            new TreeMap<>(cfg.values()).forEach((k, v) -> job.addProperty(k, v == null ? null : v.toString()));
            job.addProperty("fold", fold);
            job.add("label_space", labelSpaceJson(data.space()));
            VersionMetadata md = VersionMetadata.builder()
                    .setRunId(runId)
                    .optParentVersion(parent.ref().toString())
                    .setDataset(Lineage.datasetUri(data.uri(), hadoop),
                            Lineage.datasetDigest(data.uri(), data.index().files(), hadoop))
                    .setJobConfig(job)
                    .setSteps(total)
                    .setFinalLosses(rank0.finalLosses())
                    .setCodeVersion(Lineage.codeVersion())
                    .build();
            byte[] space = new GsonBuilder().setPrettyPrinting().create().toJson(labelSpaceJson(data.space()))
                    .getBytes(StandardCharsets.UTF_8);
            VersionInfo v = zoo.publish(PublishRequest.builder(modelName)
                    .setWeights(weights)
                    .setConfig(configJson)
                    .setMetadata(md)
                    .optMetrics(metrics)
                    .optFile(LABEL_SPACE_FILE, ContentWriter.of(space))
                    .build());
            if (cfg.alias() != null) {
                v = zoo.promote(ModelRef.ofVersion(modelName, v.number()), cfg.alias());
            }
            return v;
        } finally {
            Files.deleteIfExists(weights);
        }
    }

    /** {@code {"kind": "categorical", "names": [...]}}. */
    static JsonObject labelSpaceJson(LabelSpace space) {
        JsonObject o = new JsonObject();
        o.addProperty("kind", space.kind().name().toLowerCase());
        JsonArray names = new JsonArray();
        space.names().forEach(names::add);
        o.add("names", names);
        return o;
    }

    /** Reads {@link #labelSpaceJson}; {@code origin} names it in errors. */
    static LabelSpace parseLabelSpace(String json, String origin) {
        try {
            JsonObject o = JsonParser.parseString(json).getAsJsonObject();
            List<String> names = new ArrayList<>();
            o.getAsJsonArray("names").forEach(n -> names.add(n.getAsString()));
            return new LabelSpace(LabelSpace.Kind.valueOf(o.get("kind").getAsString().toUpperCase()), names);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(origin + " is not a label space: " + e.getMessage(), e);
        }
    }

    static String describe(LabelSpace s) {
        return s.kind().name().toLowerCase() + " " + s.names();
    }

    /** The final validation scores of every fold, with mean and std, as a table. */
    private static String summary(LabelSpace space, List<FoldOutcome> folds) {
        List<String> keys = new ArrayList<>(folds.get(0).validation().keySet());
        StringBuilder t = new StringBuilder();
        t.append(String.format("%-22s", "metric"));
        for (FoldOutcome f : folds) {
            t.append(String.format("%9s", "fold " + f.fold()));
        }
        t.append(String.format("%9s%9s%n", "mean", "std"));
        for (String k : keys) {
            double[] v = folds.stream().mapToDouble(f -> f.validation().get(k)).toArray();
            MetricsReport.Summary s = MetricsReport.summary(k, v);
            t.append(String.format("%-22s", k));
            for (double x : v) {
                t.append(String.format("%9.2f", 100 * x));
            }
            t.append(String.format("%9.2f%9.2f%n", 100 * s.mean(), 100 * s.std()));
        }
        return t.toString();
    }
}
