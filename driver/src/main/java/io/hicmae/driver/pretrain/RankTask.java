package io.hicmae.driver.pretrain;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.hicmae.runtime.allreduce.AllReduceConfig;
import io.hicmae.runtime.allreduce.RingAllReduce;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipGeometry;
import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.runtime.data.HostBatch;
import io.hicmae.runtime.data.LoaderOptions;
import io.hicmae.runtime.data.PrefetchingLoader;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.Devices;
import io.hicmae.runtime.train.PretrainTrainer;
import io.hicmae.runtime.train.StepLosses;
import io.hicmae.runtime.train.TrainOptions;
import io.hicmae.runtime.train.TrainingStateFile;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ContentWriter;
import io.hicmae.zoo.ModelZoo;
import org.apache.hadoop.conf.Configuration;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.resource.ResourceInformation;
import scala.collection.Iterator;
import scala.runtime.AbstractFunction1;

import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One rank of the barrier training stage, run inside a Spark task: rendezvous through {@code allGather}, ring
 * all-reduce set-up, resume from the run's last checkpoint, then the step loop (data, forward + backward, gradient
 * all-reduce, optimiser) with rank 0 writing checkpoints and reporting progress. Everything the rank opens is closed
 * in {@code finally}; cleanup never hides the first error.
 */
final class RankTask extends AbstractFunction1<Iterator<Integer>, Iterator<RankResult>> implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LogManager.getLogger(RankTask.class);

    /** The checkpoint file holding the full training state. */
    static final String STATE_FILE = "state.safetensors";
    /** The per-step metrics so far, as JSON lines, in every checkpoint. */
    static final String METRICS_FILE = "metrics.jsonl";

    private final TrainingPlan plan;

    RankTask(TrainingPlan plan) {
        this.plan = plan;
    }

    @Override
    public Iterator<RankResult> apply(Iterator<Integer> ignored) {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        try {
            RankResult r = run(ctx);
            return scala.jdk.javaapi.CollectionConverters.asScala(List.of(r).iterator());
        } catch (IOException e) {
            throw new IllegalStateException("rank " + ctx.partitionId() + " of run " + plan.runId() + ": " + e.getMessage(), e);
        }
    }

    private RankResult run(BarrierTaskContext ctx) throws IOException {
        PretrainConfig cfg = plan.config();
        int rank = ctx.partitionId();
        int world = cfg.worldSize();
        String host = hostOf(ctx.getTaskInfos()[rank].address());
        Device device = device(ctx, cfg.device());
        // libtorch's intra-op pool is per process: ranks sharing an executor JVM would oversubscribe its cores, and
        // OpenMP threads spin while they wait. Each rank uses the CPUs Spark gave its task (spark.task.cpus).
        ai.djl.pytorch.jni.JniUtils.setNumThreads(Math.max(1, ctx.cpus()));
        HicmaeConfig model = cfg.modelConfig();
        TrainOptions options = new TrainOptions(cfg.lr(), cfg.minLr(), plan.warmupSteps(), plan.totalSteps(),
                (long) world * cfg.batchSize(), cfg.clipGrad(),
                new AdamW.Settings(cfg.beta1(), cfg.beta2(), 1e-8, cfg.weightDecay()));

        try (RingAllReduce ring = RingAllReduce.bind(new InetSocketAddress(0));
                PretrainTrainer trainer = new PretrainTrainer(model, options, device, cfg.seed());
                ModelZoo zoo = ModelZoo.open(cfg.zoo())) {
            String[] addresses = ctx.allGather(host + ":" + ring.localAddress().getPort());
            List<InetSocketAddress> peers = new ArrayList<>();
            for (String a : addresses) {
                int colon = a.lastIndexOf(':');
                peers.add(new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1))));
            }
            ring.connect(AllReduceConfig.withDefaults(rank, peers, plan.secret(), layoutHash(trainer))
                    .withTimeouts(cfg.connectTimeout(), cfg.ioTimeout(), Clock.systemUTC()));

            List<String> metrics = new ArrayList<>();
            long resumedFrom = restore(zoo, trainer, metrics);
            LOG.info("rank {}/{} on {} at {}:{}, starting at step {} of {} (attempt {})", rank, world, device, host,
                    ring.localAddress().getPort(), resumedFrom, plan.totalSteps(), plan.attempt());

            ClipIndex index = ClipIndex.build(cfg.data(), new Configuration());
            LoaderOptions lo = new LoaderOptions(rank, world, cfg.batchSize(), cfg.seed(), cfg.prefetch(), 4,
                    ClipGeometry.STORED);
            StepLosses last = null;
            try (PrefetchingLoader loader = new PrefetchingLoader(index, model, lo, new Configuration());
                    ProgressReporter progress = rank == 0
                            ? new ProgressReporter(plan.progressHost(), plan.progressPort(), plan.secret())
                            : new ProgressReporter(null, 0, plan.secret())) {
                long step = trainer.step();
                loader.seek((int) (step / plan.stepsPerEpoch()), (int) (step % plan.stepsPerEpoch()));
                while (trainer.step() < plan.totalSteps()) {
                    step = trainer.step();
                    injectFault(rank, step);
                    long t0 = System.nanoTime();
                    HostBatch host0 = loader.next(cfg.dataTimeout());
                    long t1 = System.nanoTime();
                    long t2;
                    long t3;
                    double lr;
                    double gradNorm;
                    try (NDManager stepManager = trainer.newStepManager()) {
                        last = trainer.computeGradients(stepManager, host0.toPretrainBatch(stepManager));
                        t2 = System.nanoTime();
                        ring.allReduceMean(trainer.gradientBytes(), step);
                        t3 = System.nanoTime();
                        gradNorm = trainer.gradientNorm();
                        lr = trainer.applyGradients(stepManager);
                    }
                    long t4 = System.nanoTime();
                    long t5 = t4;
                    if (rank == 0) {
                        String line = metricsLine(step + 1, last, lr, gradNorm, t0, t1, t2, t3, t4, 0);
                        boolean checkpoint = trainer.step() % cfg.checkpointEvery() == 0
                                || trainer.step() == plan.totalSteps();
                        if (checkpoint) {
                            metrics.add(line);
                            writeCheckpoint(zoo, trainer, metrics);
                            t5 = System.nanoTime();
                            metrics.set(metrics.size() - 1,
                                    metricsLine(step + 1, last, lr, gradNorm, t0, t1, t2, t3, t4, t5 - t4));
                        } else {
                            metrics.add(line);
                        }
                        progress.send(metrics.get(metrics.size() - 1));
                    }
                }
            }
            Map<String, Double> losses = last == null ? Map.of() : lossMap(last);
            return new RankResult(rank, device.toString(), assignedGpu(ctx), resumedFrom, trainer.step(), losses, digest(trainer));
        }
    }

    private void injectFault(int rank, long step) {
        TrainingPlan.Fault f = plan.fault();
        if (f != null && f.rank() == rank && f.step() == step && f.attempt() == plan.attempt()) {
            throw new IllegalStateException("injected fault: rank " + rank + " fails at step " + step
                    + " on attempt " + plan.attempt());
        }
    }

    /** Loads the run's newest checkpoint, if any, into the trainer; returns the step it resumes at. */
    private long restore(ModelZoo zoo, PretrainTrainer trainer, List<String> metrics) throws IOException {
        Optional<Checkpoint> latest = zoo.checkpoints().latest(plan.runId());
        if (latest.isEmpty()) {
            return 0;
        }
        Checkpoint cp = latest.get();
        Path tmp = Files.createTempFile("hicmae-state-", ".safetensors");
        try {
            try (InputStream in = zoo.checkpoints().open(cp, STATE_FILE)) {
                Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
            }
            try (NDManager m = NDManager.newBaseManager()) {
                trainer.restore(TrainingStateFile.read(m, tmp), cp.location() + "/" + STATE_FILE);
            }
            try (InputStream in = zoo.checkpoints().open(cp, METRICS_FILE)) {
                for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                    if (!line.isBlank()) {
                        metrics.add(line);
                    }
                }
            }
        } finally {
            Files.deleteIfExists(tmp);
        }
        return trainer.step();
    }

    private void writeCheckpoint(ModelZoo zoo, PretrainTrainer trainer, List<String> metrics) throws IOException {
        Path tmp = Files.createTempFile("hicmae-state-", ".safetensors");
        try {
            TrainingStateFile.write(tmp, trainer.state(), Map.of("run", plan.runId(), "preset", trainer.config().name()));
            Map<String, ContentWriter> files = new LinkedHashMap<>();
            files.put(STATE_FILE, ContentWriter.of(tmp));
            files.put(METRICS_FILE, ContentWriter.of(String.join("\n", metrics).concat("\n")
                    .getBytes(StandardCharsets.UTF_8)));
            zoo.checkpoints().write(plan.runId(), trainer.step(), files);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private String metricsLine(long step, StepLosses l, double lr, double gradNorm, long t0, long t1, long t2,
            long t3, long t4, long checkpointNanos) {
        JsonObject o = new JsonObject();
        o.addProperty("step", step);
        o.addProperty("total_steps", plan.totalSteps());
        o.addProperty("epoch", (step - 1) / plan.stepsPerEpoch());
        o.addProperty("loss", l.total());
        o.addProperty("video", l.video());
        o.addProperty("audio", l.audio());
        o.addProperty("contrastive", l.contrastive());
        JsonArray layers = new JsonArray();
        for (float f : l.contrastiveLayers()) {
            layers.add(f);
        }
        o.add("contrastive_layers", layers);
        o.addProperty("lr", lr);
        o.addProperty("grad_norm", gradNorm);
        o.addProperty("clips", (long) plan.config().worldSize() * plan.config().batchSize());
        o.addProperty("ms_data", (t1 - t0) / 1e6);
        o.addProperty("ms_compute", (t2 - t1) / 1e6);
        o.addProperty("ms_allreduce", (t3 - t2) / 1e6);
        o.addProperty("ms_optimizer", (t4 - t3) / 1e6);
        o.addProperty("ms_checkpoint", checkpointNanos / 1e6);
        return o.toString();
    }

    static Map<String, Double> lossMap(StepLosses l) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("loss", (double) l.total());
        m.put("video", (double) l.video());
        m.put("audio", (double) l.audio());
        m.put("contrastive", (double) l.contrastive());
        for (int k = 0; k < l.contrastiveLayers().length; k++) {
            m.put("contrastive_layer" + k, (double) l.contrastiveLayers()[k]);
        }
        return m;
    }

    /** A hash of parameter keys and shapes: ranks with different models refuse each other at connect. */
    static long layoutHash(PretrainTrainer trainer) {
        long h = 1125899906842597L;
        Map<String, NDArray> params = trainer.state().parameters();
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            h = 31 * h + e.getKey().hashCode();
            h = 31 * h + e.getValue().getShape().toString().hashCode();
        }
        return h;
    }

    /** SHA-256 over every parameter's bytes in key order. */
    static String digest(PretrainTrainer trainer) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, NDArray> e : trainer.state().parameters().entrySet()) {
                md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                ByteBuffer b = e.getValue().toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                md.update(b);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The device: the GPU Spark assigned to this task if any, else the configured device. */
    private static Device device(BarrierTaskContext ctx, String configured) {
        ResourceInformation gpu = ctx.resources().get("gpu").getOrElse(() -> null);
        if (gpu != null && gpu.addresses().length > 0) {
            if (ai.djl.engine.Engine.getInstance().getGpuCount() == 0) {
                LOG.warn("Spark assigned GPU {} to this task but the engine sees no CUDA device; training on CPU",
                        gpu.addresses()[0]);
                return Device.cpu();
            }
            return Devices.select("gpu:" + gpu.addresses()[0]);
        }
        return Devices.select(configured);
    }

    /** The GPU address Spark assigned to this task, or null. */
    private static String assignedGpu(BarrierTaskContext ctx) {
        ResourceInformation gpu = ctx.resources().get("gpu").getOrElse(() -> null);
        return gpu == null || gpu.addresses().length == 0 ? null : gpu.addresses()[0];
    }

    private static String hostOf(String address) {
        int colon = address.lastIndexOf(':');
        return colon > 0 ? address.substring(0, colon) : address;
    }
}
