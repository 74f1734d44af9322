package io.hicmae.driver.finetune;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.driver.config.ConfigException;
import io.hicmae.driver.spark.BarrierStage;
import io.hicmae.driver.spark.PortRange;
import io.hicmae.driver.spark.RankSetup;
import io.hicmae.driver.spark.RunCheckpoints;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipGeometry;
import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.runtime.data.LabelSpace;
import io.hicmae.runtime.data.PlannedClipReader;
import io.hicmae.runtime.finetune.ClassificationMetrics;
import io.hicmae.runtime.finetune.ConfusionMatrixImage;
import io.hicmae.runtime.finetune.FinetuneOptions;
import io.hicmae.runtime.finetune.FinetuneTrainer;
import io.hicmae.runtime.finetune.MetricsReport;
import io.hicmae.runtime.finetune.RegressionMetrics;
import io.hicmae.runtime.finetune.Task;
import io.hicmae.runtime.finetune.VideoAverage;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.VersionInfo;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.Serializable;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The evaluation job: for each version (one, or one per fold) reads its label space, picks the views of the chosen
 * clips (2 per video, {@link ClipSelection#views}), predicts them in a plain Spark stage (tasks by row group, each
 * loading the version once), averages per video on the driver and scores. The report (a table, JSON, and for
 * categories the confusion matrix as PNG) goes to the console, to {@code --json}, and to the zoo's evaluations area
 * ({@link Evaluations}), never into the version's own files.
 */
public final class EvaluateJob {

    /** One view's outputs, as a prediction task returns it. */
    public record Prediction(int view, float[] outputs) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    /**
     * What a finished evaluation produced.
     *
     * @param report the metrics over folds (one fold without folds)
     * @param json the report's JSON, with the versions and the data
     * @param locations where each version's evaluation was written in the zoo
     */
    public record Outcome(MetricsReport report, String json, List<URI> locations) {}

    /** What a prediction task needs, fixed on the driver. */
    private record Spec(String zoo, String version, String configJson, LabelSpace.Kind kind, List<String> names,
            String data, List<ClipEntry> views, int batch, String device) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    private final EvaluateConfig cfg;
    private final PrintStream console;

    public EvaluateJob(EvaluateConfig cfg, PrintStream console) {
        this.cfg = cfg;
        this.console = console;
    }

    /** A session for this job: see {@link BarrierStage#session} (a plain stage: one task per core in local mode). */
    public static SparkSession session(EvaluateConfig cfg) {
        return BarrierStage.session(new BarrierStage.Settings("evaluate", 1, cfg.device(), cfg.master(), 1,
                Duration.ZERO, Duration.ZERO, Duration.ofSeconds(60), Duration.ofSeconds(60), PortRange.ANY),
                FinetuneKryoRegistrator.class);
    }

    public Outcome run(SparkSession spark) throws IOException {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        try (ModelZoo zoo = ModelZoo.open(ModelZoo.rootUri(cfg.zoo()), hadoop)) {
            LabelledClips data = LabelledClips.read(spark, cfg.data(), EvaluateConfig.DATA);
            List<Integer> folds = new ArrayList<>();
            if (cfg.folds() == 0) {
                folds.add(-1);
            } else {
                for (int k = 0; k < cfg.folds(); k++) {
                    folds.add(k);
                }
            }
            List<VersionInfo> versions = new ArrayList<>();
            List<VideoAverage> averages = new ArrayList<>();
            for (int k : folds) {
                VersionInfo v = zoo.resolve(cfg.modelRef(k));
                LabelSpace space = labelSpace(zoo, v);
                if (!space.equals(data.space())) {
                    throw new ConfigException(EvaluateConfig.DATA, cfg.data(), "its label space "
                            + FinetuneJob.describe(data.space()) + " differs from " + v.ref() + "'s "
                            + FinetuneJob.describe(space));
                }
                List<ClipEntry> clips = k >= 0 ? ClipSelection.fold(data.entries(), k, true)
                        : EvaluateConfig.ALL.equals(cfg.split()) ? data.entries()
                        : ClipSelection.split(data.entries(), cfg.split());
                if (clips.isEmpty()) {
                    throw new ConfigException(k >= 0 ? EvaluateConfig.FOLDS : EvaluateConfig.SPLIT,
                            k >= 0 ? cfg.folds() : cfg.split(), "no clip of " + cfg.data()
                                    + (k >= 0 ? " is in fold " + k : " has that split"));
                }
                List<ClipEntry> views = ClipSelection.views(clips, 2);
                String configJson = read(zoo, v, PublishRequest.CONFIG);
                float[] outputs = predict(spark, new Spec(zoo.root().toString(), v.ref().toString(), configJson,
                        space.kind(), space.names(), cfg.data(), views, cfg.batchSize(), cfg.device()));
                averages.add(ClipPredictor.average(ClipPredictor.task(space), views, outputs));
                versions.add(v);
                console.printf("evaluate: %s on %d videos (%d clips)%s%n", v.ref(), averages.get(averages.size() - 1)
                        .videos().size(), views.size(), k >= 0 ? ", fold " + k : ", split " + cfg.split());
            }
            MetricsReport report = report(data.space(), averages);
            console.print(report.table());
            String json = json(report, versions);
            if (cfg.json() != null) {
                Files.writeString(Path.of(cfg.json()), json);
            }
            List<URI> locations = new ArrayList<>();
            for (int i = 0; i < versions.size(); i++) {
                MetricsReport one = report(data.space(), List.of(averages.get(i)));
                Map<String, byte[]> files = new LinkedHashMap<>();
                files.put(Evaluations.METRICS, json(one, List.of(versions.get(i))).getBytes(StandardCharsets.UTF_8));
                if (one.confusion() != null) {
                    files.put(Evaluations.CONFUSION, ConfusionMatrixImage.png(one.confusion(), one.names()));
                }
                URI at = Evaluations.write(zoo.root(), hadoop, versions.get(i), files);
                locations.add(at);
                console.printf("evaluate: wrote %s%n", at);
            }
            return new Outcome(report, json, locations);
        }
    }

    private static MetricsReport report(LabelSpace space, List<VideoAverage> folds) {
        if (space.kind() == LabelSpace.Kind.CATEGORICAL) {
            List<ClassificationMetrics> m = folds.stream().map(VideoAverage::classificationMetrics).toList();
            return MetricsReport.classification(space.names(), m);
        }
        List<RegressionMetrics> m = folds.stream().map(VideoAverage::regressionMetrics).toList();
        return MetricsReport.regression(space.names(), m);
    }

    /** The report's JSON with what was scored: versions, data, split or folds. */
    private String json(MetricsReport report, List<VersionInfo> versions) {
        JsonObject o = JsonParser.parseString(report.json()).getAsJsonObject();
        com.google.gson.JsonArray v = new com.google.gson.JsonArray();
        versions.forEach(x -> v.add(x.ref().toString()));
        o.add("versions", v);
        o.addProperty("data", cfg.data());
        if (cfg.folds() == 0) {
            o.addProperty("split", cfg.split());
        }
        o.addProperty("views_per_video", 2);
        return new GsonBuilder().serializeNulls().setPrettyPrinting().create().toJson(o) + "\n";
    }

    private static LabelSpace labelSpace(ModelZoo zoo, VersionInfo v) throws IOException {
        String text;
        try {
            text = read(zoo, v, FinetuneJob.LABEL_SPACE_FILE);
        } catch (java.io.FileNotFoundException e) {
            throw new ConfigException(EvaluateConfig.MODEL, v.ref(), "is not a fine-tuned version: it has no "
                    + FinetuneJob.LABEL_SPACE_FILE + " (fine-tune it with hicmae finetune first)");
        }
        return FinetuneJob.parseLabelSpace(text, v.ref() + "/" + FinetuneJob.LABEL_SPACE_FILE);
    }

    private static String read(ModelZoo zoo, VersionInfo v, String file) throws IOException {
        try (InputStream in = zoo.open(v, file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** Outputs of every view (views x outputs, row-major), predicted by tasks that each take some row groups. */
    private static float[] predict(SparkSession spark, Spec spec) {
        Map<Integer, List<Integer>> byGroup = new TreeMap<>();
        for (int i = 0; i < spec.views().size(); i++) {
            byGroup.computeIfAbsent(ClipIndex.rowGroupOf(spec.views().get(i).position()), g -> new ArrayList<>())
                    .add(i);
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        List<List<Integer>> groups = new ArrayList<>(byGroup.values());
        int partitions = Math.max(1, Math.min(groups.size(), jsc.defaultParallelism()));
        List<Prediction> predictions = jsc.parallelize(groups, partitions)
                .mapPartitions(it -> {
                    List<Integer> mine = new ArrayList<>();
                    it.forEachRemaining(mine::addAll);
                    return predictTask(spec, mine).iterator();
                })
                .collect();
        int q = spec.names().size();
        float[] out = new float[spec.views().size() * q];
        for (Prediction p : predictions) {
            System.arraycopy(p.outputs(), 0, out, p.view() * q, q);
        }
        return out;
    }

    /** One task: loads the version, reads its views by position and predicts them. */
    private static List<Prediction> predictTask(Spec spec, List<Integer> viewIndices) throws IOException {
        TaskContext ctx = TaskContext.get();
        RankSetup.useTaskCpus(ctx);
        HicmaeConfig model = HicmaeConfig.fromJson(spec.configJson(), spec.version() + "/config.json");
        Task task = ClipPredictor.task(new LabelSpace(spec.kind(), spec.names()));
        FinetuneOptions options = FinetuneOptions.recipe(task, 0, 1, 1); // evaluation only: no step is taken
        Configuration conf = new Configuration();
        List<ClipEntry> views = viewIndices.stream().map(spec.views()::get).toList();
        try (FinetuneTrainer trainer = new FinetuneTrainer(model, options, RankSetup.device(ctx, spec.device()), 0);
                ModelZoo zoo = ModelZoo.open(spec.zoo());
                PlannedClipReader reader = new PlannedClipReader(ClipIndex.build(spec.data(), conf), conf,
                        ClipGeometry.STORED)) {
            RunCheckpoints.withVersionWeights(zoo, spec.version(), trainer::loadFinetuned);
            int q = task.outputs();
            float[] out = new float[views.size() * q];
            ClipPredictor.predict(trainer, ClipPredictor.assembler(trainer, options), reader, views, 0, 1,
                    spec.batch(), out);
            List<Prediction> result = new ArrayList<>();
            for (int i = 0; i < views.size(); i++) {
                float[] y = new float[q];
                System.arraycopy(out, i * q, y, 0, q);
                result.add(new Prediction(viewIndices.get(i), y));
            }
            return result;
        }
    }
}
