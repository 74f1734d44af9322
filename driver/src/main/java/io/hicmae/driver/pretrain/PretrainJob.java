package io.hicmae.driver.pretrain;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.driver.config.ConfigException;
import io.hicmae.driver.spark.BarrierStage;
import io.hicmae.driver.spark.CheckpointFields;
import io.hicmae.driver.spark.GlobalBatch;
import io.hicmae.driver.spark.StageKeys;
import io.hicmae.driver.spark.Lineage;
import io.hicmae.driver.spark.LiveProgress;
import io.hicmae.driver.spark.ProgressPrinter;
import io.hicmae.driver.spark.RankResult;
import io.hicmae.driver.spark.RunPlan;
import io.hicmae.driver.spark.TrainingStage;
import io.hicmae.driver.spark.RunCheckpoints;
import io.hicmae.driver.spark.RunStatusWriter;
import io.hicmae.driver.spark.UserConf;
import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ModelRef;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.StepMetrics;
import io.hicmae.zoo.VersionInfo;
import io.hicmae.zoo.VersionMetadata;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The pre-training job on the driver: plans the run (dataset size, steps, run id), submits the training as one
 * Spark barrier stage of world-size tasks, retries a failed stage from the last checkpoint (a failed barrier result
 * stage is never retried by Spark itself), checks that every rank ended with the same parameters, and publishes
 * the final weights as a new zoo version with lineage.
 */
public final class PretrainJob {

    /** What a finished run produced. */
    public record Outcome(String runId, VersionInfo version, List<RankResult> ranks, long steps) {}

    private final PretrainConfig cfg;
    private final PrintStream console;
    private final RunPlan.Fault fault;
    private final java.util.function.IntSupplier slots;

    public PretrainJob(PretrainConfig cfg, PrintStream console) {
        this(cfg, console, null);
    }

    /** A job that injects {@code fault} into the training (tests only). */
    PretrainJob(PretrainConfig cfg, PrintStream console, RunPlan.Fault fault) {
        this(cfg, console, fault, null);
    }

    /**
     * A job that injects {@code fault} and sees the cluster's task slots through {@code slots} (tests only: local
     * mode cannot gain executors); null for Spark's count.
     */
    PretrainJob(PretrainConfig cfg, PrintStream console, RunPlan.Fault fault, java.util.function.IntSupplier slots) {
        this.cfg = cfg;
        this.console = console;
        this.fault = fault;
        this.slots = slots;
    }

    /** A session for this job: see {@link BarrierStage#session}. */
    public static SparkSession session(PretrainConfig cfg) {
        return session(cfg, UserConf.NONE);
    }

    /** A session for this job with the command line's {@code --conf} settings: see {@link BarrierStage#session}. */
    public static SparkSession session(PretrainConfig cfg, UserConf user) {
        return BarrierStage.session(cfg.stage(), user);
    }

    public Outcome run(SparkSession spark) throws IOException {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        try (ModelZoo zoo = ModelZoo.open(ModelZoo.rootUri(cfg.zoo()), hadoop);
                // zoo helper (#15 item 3): one writer per run; the ranks' checkpoint writes carry the lease epoch.
                RunCheckpoints.Lease lease = RunCheckpoints.lease(spark, zoo, runId(zoo), "pretrain")) {
            String runId = lease.runId();
            Map<String, String> resumed = CheckpointFields.resume(zoo, runId, cfg, Map.of(PretrainConfig.PRESET,
                    new CheckpointFields.Pin("preset", cfg.modelConfig().name())));
            GlobalBatch batch = GlobalBatch.resolve(cfg.worldSize(), cfg.batchSize(),
                    StageKeys.globalBatch(cfg.values()), CheckpointFields.storedGlobalBatch(resumed),
                    PretrainConfig.BATCH_SIZE);
            ClipIndex index = ClipIndex.build(cfg.data(), hadoop);
            long stepsPerEpoch = index.stepsPerEpoch(batch.microBatches(), cfg.batchSize());
            if (stepsPerEpoch < 1) {
                throw new ConfigException(PretrainConfig.BATCH_SIZE, cfg.batchSize(), "the dataset " + cfg.data()
                        + " has " + index.clipCount() + " clips, fewer than the global batch "
                        + batch.microBatches() + " x batch-size = " + batch.clips());
            }
            long total = stepsPerEpoch * cfg.epochs();
            if (cfg.maxSteps() > 0) {
                total = Math.min(total, cfg.maxSteps());
            }
            long warmup = Math.min(total, Math.round(cfg.warmupEpochs() * stepsPerEpoch));
            byte[] secret = Lineage.newSecret();
            String driverHost = BarrierStage.driverHost(spark);

            console.printf("pretrain: run %s, %s, %d clips, global batch %d (%d micro-batches of %d on %d rank(s)), "
                    + "%d steps/epoch, %d steps%n", runId, cfg.modelConfig().name(), index.clipCount(), batch.clips(),
                    batch.microBatches(), cfg.batchSize(), cfg.worldSize(), stepsPerEpoch, total);
            ProgressPrinter printer = new ProgressPrinter(console, total, o -> String.format(
                    "loss %.4f (video %.4f, audio %.4f, contrastive %.4f) lr %.2e", o.get("loss").getAsDouble(),
                    o.get("video").getAsDouble(), o.get("audio").getAsDouble(), o.get("contrastive").getAsDouble(),
                    o.get("lr").getAsDouble()));
            RunStatusWriter status = RunStatusWriter.start(zoo, spark.sparkContext(), runId, cfg.model(), total,
                    cfg.worldSize());
            try {
                List<RankResult> results;
                try (LiveProgress live = LiveProgress.start(spark, cfg.stage(), runId, secret,
                        List.of(printer::accept, status::accept))) {
                    PretrainPlan plan = new PretrainPlan(cfg, new RunPlan(runId, secret, batch, stepsPerEpoch, total,
                            warmup, 1, cfg.worldSize(), driverHost, live.port(), fault));
                    results = trainWithRetries(spark, plan, zoo, live);
                }
                Lineage.checkRanksAgree(results, RankResult::rank, RankResult::parameterDigest);
                for (RankResult r : results) {
                    console.printf("pretrain: rank %d trained on %s%s, steps %d to %d%n", r.rank(), r.device(),
                            r.assignedGpu() == null ? "" : " (Spark assigned GPU " + r.assignedGpu() + ")",
                            r.resumedFrom(), r.steps());
                }
                VersionInfo version = publish(zoo, runId, index, total, results, hadoop);
                console.printf("pretrain: published %s (%s)%n", version.ref(), version.location());
                status.finished(version.ref().toString(), total);
                return new Outcome(runId, version, results, total);
            } catch (IOException | RuntimeException e) {
                status.failed(e);
                throw e;
            } finally {
                status.close();
            }
        }
    }

    private String runId(ModelZoo zoo) throws IOException {
        String given = cfg.runId();
        if (given != null) {
            Optional<Checkpoint> cp = zoo.checkpoints().latest(given);
            if (cfg.resume() && cp.isEmpty()) {
                throw new ConfigException(PretrainConfig.RESUME, given, "the run has no checkpoint in " + zoo.root());
            }
            cp.ifPresent(c -> console.printf("pretrain: resuming run %s from step %d%n", given, c.step()));
            return given;
        }
        return Lineage.newRunId(cfg.model());
    }

    /** Submits the barrier stage; on failure waits, re-checks the slots and resubmits from the last checkpoint. */
    private List<RankResult> trainWithRetries(SparkSession spark, PretrainPlan first, ModelZoo zoo,
            LiveProgress live) throws IOException {
        String runId = first.run().runId();
        return TrainingStage.run(spark, first, zoo, console, "run " + runId + " failed; its checkpoints stay in "
                + zoo.root() + ", continue with --resume " + runId, live::attempt,
                slots != null ? slots : () -> BarrierStage.slots(spark));
    }

    /** Publishes the final checkpoint's parameters as a zoo version with lineage, metrics and the model card. */
    private VersionInfo publish(ModelZoo zoo, String runId, ClipIndex index, long total, List<RankResult> results,
            Configuration hadoop) throws IOException {
        Checkpoint cp = zoo.checkpoints().latest(runId)
                .orElseThrow(() -> new IllegalStateException("run " + runId + " finished without a checkpoint"));
        if (cp.step() != total) {
            throw new IllegalStateException("run " + runId + " ended at step " + total + " but its newest checkpoint is "
                    + cp.step());
        }
        java.nio.file.Path weights = Files.createTempFile("hicmae-weights-", ".safetensors");
        try {
            RunCheckpoints.writeWeights(zoo, cp, weights, runId);
            List<StepMetrics> metrics = new ArrayList<>();
            for (String line : RunCheckpoints.readMetrics(zoo, cp)) {
                metrics.add(stepMetrics(line));
            }
            RankResult rank0 = results.stream().filter(r -> r.rank() == 0).findFirst().orElseThrow();
            JsonObject job = new JsonObject();
            new TreeMap<>(cfg.values()).forEach((k, v) -> job.addProperty(k, v == null ? null : v.toString()));
            VersionMetadata md = VersionMetadata.builder()
                    .setRunId(runId)
                    .setDataset(Lineage.datasetUri(cfg.data(), hadoop),
                            Lineage.datasetDigest(cfg.data(), index.files(), hadoop))
                    .setJobConfig(job)
                    .setSteps(total)
                    .setFinalLosses(rank0.finalLosses())
                    .setCodeVersion(Lineage.codeVersion())
                    .build();
            PublishRequest.Builder req = PublishRequest.builder(cfg.model())
                    .setWeights(weights)
                    .setConfig(cfg.modelConfig().toJson())
                    .setMetadata(md)
                    .optMetrics(metrics);
            VersionInfo v = zoo.publish(req.build());
            if (cfg.alias() != null) {
                v = zoo.promote(ModelRef.ofVersion(cfg.model(), v.number()), cfg.alias());
            }
            return v;
        } finally {
            Files.deleteIfExists(weights);
        }
    }

    private static StepMetrics stepMetrics(String line) {
        JsonObject o = JsonParser.parseString(line).getAsJsonObject();
        Map<String, Double> losses = new TreeMap<>();
        for (String k : new String[] {"loss", "video", "audio", "contrastive", "lr", "grad_norm", "world_size",
                "resumed"}) {
            if (o.has(k)) {
                losses.put(k, o.get(k).getAsDouble());
            }
        }
        return new StepMetrics(o.get("step").getAsLong(), losses);
    }
}
