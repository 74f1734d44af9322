package io.hicmae.driver.pretrain;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.driver.config.ConfigException;
import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.runtime.io.Safetensors;
import io.hicmae.runtime.train.TrainingState;
import io.hicmae.runtime.train.TrainingStateFile;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ModelRef;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.StepMetrics;
import io.hicmae.zoo.VersionInfo;
import io.hicmae.zoo.VersionMetadata;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import scala.reflect.ClassTag$;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * The pre-training job on the driver: plans the run (dataset size, steps, run id), submits the training as one
 * Spark barrier stage of world-size tasks, retries a failed stage from the last checkpoint (a failed barrier result
 * stage is never retried by Spark itself), checks that every rank ended with the same parameters, and publishes
 * the final weights as a new zoo version with lineage.
 */
public final class PretrainJob {

    private static final Logger LOG = LogManager.getLogger(PretrainJob.class);

    /** What a finished run produced. */
    public record Outcome(String runId, VersionInfo version, List<RankResult> ranks, long steps) {}

    private final PretrainConfig cfg;
    private final PrintStream console;
    private final TrainingPlan.Fault fault;

    public PretrainJob(PretrainConfig cfg, PrintStream console) {
        this(cfg, console, null);
    }

    /** A job that injects {@code fault} into the training (tests only). */
    PretrainJob(PretrainConfig cfg, PrintStream console, TrainingPlan.Fault fault) {
        this.cfg = cfg;
        this.console = console;
        this.fault = fault;
    }

    /**
     * A session for this job: the one spark-submit configured, or local mode with the machine's cores shared out
     * among world-size task slots when no master is set. Sets the barrier and failure-detection timeouts unless the user set them.
     */
    public static SparkSession session(PretrainConfig cfg) {
        SparkConf conf = new SparkConf();
        if (!conf.contains("spark.master")) {
            // Local mode: the machine's cores shared out among the ranks (each rank's libtorch uses its task's CPUs).
            int cores = Runtime.getRuntime().availableProcessors();
            conf.setMaster(cfg.master() != null ? cfg.master() : "local[" + Math.max(cores, cfg.worldSize()) + "]");
            conf.setIfMissing("spark.task.cpus", Integer.toString(Math.max(1, cores / cfg.worldSize())));
            conf.setIfMissing("spark.ui.enabled", "false");
            conf.setIfMissing("spark.driver.host", "127.0.0.1");
            conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
        }
        conf.setIfMissing("spark.app.name", "hicmae-pretrain");
        long barrierSeconds = Math.max(120, 2L * cfg.connectTimeout().toSeconds());
        conf.setIfMissing("spark.barrier.sync.timeout", barrierSeconds + "s");
        conf.setIfMissing("spark.executor.heartbeatInterval", "5s");
        conf.setIfMissing("spark.network.timeout", "60s");
        conf.setIfMissing("spark.serializer", "org.apache.spark.serializer.KryoSerializer");
        conf.setIfMissing("spark.kryo.registrator", io.hicmae.driver.HicmaeKryoRegistrator.class.getName());
        return SparkSession.builder().config(conf).getOrCreate();
    }

    public Outcome run(SparkSession spark) throws IOException {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        try (ModelZoo zoo = ModelZoo.open(ModelZoo.rootUri(cfg.zoo()), hadoop)) {
            String runId = runId(zoo);
            ClipIndex index = ClipIndex.build(cfg.data(), hadoop);
            long stepsPerEpoch = index.stepsPerEpoch(cfg.worldSize(), cfg.batchSize());
            if (stepsPerEpoch < 1) {
                throw new ConfigException(PretrainConfig.BATCH_SIZE, cfg.batchSize(), "the dataset " + cfg.data()
                        + " has " + index.clipCount() + " clips, fewer than world-size x batch-size = "
                        + (long) cfg.worldSize() * cfg.batchSize());
            }
            long total = stepsPerEpoch * cfg.epochs();
            if (cfg.maxSteps() > 0) {
                total = Math.min(total, cfg.maxSteps());
            }
            long warmup = Math.min(total, Math.round(cfg.warmupEpochs() * stepsPerEpoch));
            byte[] secret = new byte[32];
            new SecureRandom().nextBytes(secret);
            String driverHost = spark.sparkContext().getConf().get("spark.driver.host", "127.0.0.1");

            console.printf("pretrain: run %s, %s, %d clips, %d rank(s) x %d clips, %d steps/epoch, %d steps%n",
                    runId, cfg.modelConfig().name(), index.clipCount(), cfg.worldSize(), cfg.batchSize(),
                    stepsPerEpoch, total);
            ProgressPrinter printer = new ProgressPrinter(console, total);
            List<RankResult> results;
            try (ProgressServer progress = new ProgressServer(driverHost, secret, printer::accept)) {
                TrainingPlan plan = new TrainingPlan(cfg, runId, secret, stepsPerEpoch, total, warmup, 1,
                        driverHost, progress.port(), fault);
                results = trainWithRetries(spark, plan, zoo);
            }
            checkRanksAgree(results);
            for (RankResult r : results) {
                console.printf("pretrain: rank %d trained on %s%s, steps %d to %d%n", r.rank(), r.device(),
                        r.assignedGpu() == null ? "" : " (Spark assigned GPU " + r.assignedGpu() + ")",
                        r.resumedFrom(), r.steps());
            }
            VersionInfo version = publish(zoo, runId, index, total, results, hadoop);
            console.printf("pretrain: published %s (%s)%n", version.ref(), version.location());
            return new Outcome(runId, version, results, total);
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
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT));
        byte[] r = new byte[3];
        new SecureRandom().nextBytes(r);
        return cfg.model() + "-" + stamp + "-" + HexFormat.of().formatHex(r);
    }

    /** Submits the barrier stage; on failure waits, re-checks the slots and resubmits from the last checkpoint. */
    private List<RankResult> trainWithRetries(SparkSession spark, TrainingPlan first, ModelZoo zoo)
            throws IOException {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        // Survivors of a failed attempt must give up their slots at once: cancel interrupts their threads.
        jsc.setLocalProperty("spark.job.interruptOnCancel", "true");
        Exception lastError = null;
        for (int attempt = 1; attempt <= cfg.maxAttempts(); attempt++) {
            TrainingPlan plan = first.withAttempt(attempt);
            waitForSlots(jsc);
            try {
                List<RankResult> out = jsc.parallelize(IntStream.range(0, cfg.worldSize()).boxed().toList(),
                                cfg.worldSize())
                        .rdd()
                        .barrier()
                        .mapPartitions(new RankTask(plan), false, ClassTag$.MODULE$.apply(RankResult.class))
                        .toJavaRDD()
                        .collect();
                return new ArrayList<>(out);
            } catch (Exception e) { // SparkException is checked but Scala throws it undeclared
                lastError = e;
                Optional<Checkpoint> cp = zoo.checkpoints().latest(plan.runId());
                String from = cp.map(c -> "step " + c.step()).orElse("the start");
                if (attempt == cfg.maxAttempts()) {
                    break;
                }
                console.printf("pretrain: attempt %d of %d failed (%s); resuming from %s in %d ms%n", attempt,
                        cfg.maxAttempts(), rootMessage(e), from, cfg.retryBackoff().toMillis());
                LOG.warn("attempt {} failed", attempt, e);
                sleep(cfg.retryBackoff().toMillis());
            }
        }
        throw new IllegalStateException("run " + first.runId() + " failed after " + cfg.maxAttempts()
                + " attempt(s); its checkpoints stay in " + zoo.root() + ", continue with --resume " + first.runId()
                + ": " + rootMessage(lastError), lastError);
    }

    /** Blocks until the cluster offers world-size concurrent task slots, or fails after slot-wait. */
    private void waitForSlots(JavaSparkContext jsc) {
        long deadline = System.nanoTime() + cfg.slotWait().toNanos();
        int slots = slots(jsc);
        while (slots < cfg.worldSize()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the cluster offers " + slots + " task slot(s) but world-size is "
                        + cfg.worldSize() + " (waited " + cfg.slotWait().toSeconds() + " s; see slot-wait-s)");
            }
            sleep(500);
            slots = slots(jsc);
        }
    }

    private static int slots(JavaSparkContext jsc) {
        org.apache.spark.SparkContext sc = jsc.sc();
        return sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting to resubmit", e);
        }
    }

    private static void checkRanksAgree(List<RankResult> results) {
        String digest = results.get(0).parameterDigest();
        for (RankResult r : results) {
            if (!r.parameterDigest().equals(digest)) {
                throw new IllegalStateException("rank " + r.rank() + " ended with parameters " + r.parameterDigest()
                        + " but rank 0 with " + digest + ": the ranks diverged");
            }
        }
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
        java.nio.file.Path state = Files.createTempFile("hicmae-state-", ".safetensors");
        java.nio.file.Path weights = Files.createTempFile("hicmae-weights-", ".safetensors");
        try {
            try (InputStream in = zoo.checkpoints().open(cp, RankTask.STATE_FILE)) {
                Files.copy(in, state, StandardCopyOption.REPLACE_EXISTING);
            }
            try (NDManager m = NDManager.newBaseManager()) {
                TrainingState s = TrainingStateFile.read(m, state);
                Safetensors.write(weights, s.parameters(), Map.of("format", "pt", "run", runId));
            }
            List<StepMetrics> metrics = new ArrayList<>();
            try (InputStream in = zoo.checkpoints().open(cp, RankTask.METRICS_FILE)) {
                for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                    if (!line.isBlank()) {
                        metrics.add(stepMetrics(line));
                    }
                }
            }
            RankResult rank0 = results.stream().filter(r -> r.rank() == 0).findFirst().orElseThrow();
            JsonObject job = new JsonObject();
            new TreeMap<>(cfg.values()).forEach((k, v) -> job.addProperty(k, v == null ? null : v.toString()));
            VersionMetadata md = VersionMetadata.builder()
                    .setRunId(runId)
                    .setDataset(datasetUri(hadoop), datasetDigest(index, hadoop))
                    .setJobConfig(job)
                    .setSteps(total)
                    .setFinalLosses(rank0.finalLosses())
                    .setCodeVersion(codeVersion())
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
            Files.deleteIfExists(state);
            Files.deleteIfExists(weights);
        }
    }

    private static StepMetrics stepMetrics(String line) {
        JsonObject o = JsonParser.parseString(line).getAsJsonObject();
        Map<String, Double> losses = new TreeMap<>();
        for (String k : new String[] {"loss", "video", "audio", "contrastive", "lr", "grad_norm"}) {
            if (o.has(k)) {
                losses.put(k, o.get(k).getAsDouble());
            }
        }
        return new StepMetrics(o.get("step").getAsLong(), losses);
    }

    private URI datasetUri(Configuration hadoop) throws IOException {
        Path p = new Path(cfg.data());
        return p.getFileSystem(hadoop).makeQualified(p).toUri();
    }

    /**
     * SHA-256 of the dataset's {@code _dataset.json}; a dataset without one (written by other tools) is identified
     * by the digest of its data-file listing instead.
     */
    private String datasetDigest(ClipIndex index, Configuration hadoop) throws IOException {
        Path meta = new Path(cfg.data(), "_dataset.json");
        FileSystem fs = meta.getFileSystem(hadoop);
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            if (fs.exists(meta)) {
                try (InputStream in = fs.open(meta)) {
                    md.update(in.readAllBytes());
                }
            } else {
                LOG.warn("{} has no _dataset.json; the version's dataset digest covers its file listing", cfg.data());
                md.update(String.join("\n", index.files()).getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String codeVersion() {
        String v = PretrainJob.class.getPackage().getImplementationVersion();
        return v == null ? "development build" : v;
    }

    /** The first line of the failure and of its deepest cause: enough to see why, without a stack trace. */
    private static String rootMessage(Throwable e) {
        if (e == null) {
            return "no error recorded";
        }
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String top = firstLine(e.getMessage());
        String deepest = firstLine(root.getMessage());
        String msg = root == e || top.contains(deepest) ? top : top + " <- " + deepest;
        return msg.length() > 400 ? msg.substring(0, 400) + "..." : msg;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "";
        }
        int nl = s.indexOf('\n');
        return (nl < 0 ? s : s.substring(0, nl)).trim();
    }
}
