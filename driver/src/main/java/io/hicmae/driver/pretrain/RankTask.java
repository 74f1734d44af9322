package io.hicmae.driver.pretrain;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.hicmae.driver.spark.ExecutorHadoopConf;
import io.hicmae.driver.spark.ProgressReporter;
import io.hicmae.driver.spark.RankSetup;
import io.hicmae.driver.spark.RunCheckpoints;
import io.hicmae.runtime.allreduce.RingAllReduce;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipGeometry;
import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.runtime.data.HostBatch;
import io.hicmae.runtime.data.LoaderOptions;
import io.hicmae.runtime.data.PrefetchingLoader;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.PretrainTrainer;
import io.hicmae.runtime.train.StepLosses;
import io.hicmae.runtime.train.TrainOptions;
import io.hicmae.zoo.ModelZoo;
import org.apache.hadoop.conf.Configuration;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.BarrierTaskContext;
import scala.collection.Iterator;
import scala.runtime.AbstractFunction1;

import java.io.IOException;
import java.io.Serializable;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One rank of the barrier training stage, run inside a Spark task: rendezvous through {@code allGather}, ring
 * all-reduce set-up, resume from the run's last checkpoint, then the step loop (data, forward + backward, gradient
 * all-reduce, optimiser) with rank 0 writing checkpoints and reporting progress. Everything the rank opens is closed
 * in {@code finally}; cleanup never hides the first error.
 */
final class RankTask extends AbstractFunction1<Iterator<Integer>, Iterator<RankResult>> implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LogManager.getLogger(RankTask.class);

    private final TrainingPlan plan;
    private final ExecutorHadoopConf hadoop;

    RankTask(TrainingPlan plan, ExecutorHadoopConf hadoop) {
        this.plan = plan;
        this.hadoop = hadoop;
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
        Device device = RankSetup.device(ctx, cfg.stage().device());
        RankSetup.useTaskCpus(ctx);
        HicmaeConfig model = cfg.modelConfig();
        TrainOptions options = new TrainOptions(cfg.lr(), cfg.minLr(), plan.warmupSteps(), plan.totalSteps(),
                (long) world * cfg.batchSize(), cfg.clipGrad(),
                new AdamW.Settings(cfg.beta1(), cfg.beta2(), 1e-8, cfg.weightDecay()));
        Configuration conf = hadoop.get();

        try (RingAllReduce ring = RingAllReduce.bind(new InetSocketAddress(0));
                PretrainTrainer trainer = new PretrainTrainer(model, options, device, cfg.seed());
                ModelZoo zoo = ModelZoo.open(ModelZoo.rootUri(cfg.zoo()), conf)) {
            RankSetup.connectRing(ctx, ring, plan.secret(), RankSetup.layoutHash(trainer.state().parameters()),
                    cfg.stage().connectTimeout(), cfg.stage().ioTimeout());

            List<String> metrics = new ArrayList<>();
            RunCheckpoints.restoreLatest(zoo, plan.runId(), trainer::restore, metrics);
            long resumedFrom = trainer.step();
            LOG.info("rank {}/{} on {} at {}:{}, starting at step {} of {} (attempt {})", rank, world, device,
                    RankSetup.host(ctx), ring.localAddress().getPort(), resumedFrom, plan.totalSteps(), plan.attempt());

            ClipIndex index = ClipIndex.build(cfg.data(), conf);
            LoaderOptions lo = new LoaderOptions(rank, world, cfg.batchSize(), cfg.seed(), cfg.prefetch(), 4,
                    ClipGeometry.STORED);
            StepLosses last = null;
            try (PrefetchingLoader loader = new PrefetchingLoader(index, model, lo, conf);
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
            return new RankResult(rank, device.toString(), RankSetup.assignedGpu(ctx), resumedFrom, trainer.step(),
                    losses, RankSetup.digest(trainer.state().parameters()));
        }
    }

    private void injectFault(int rank, long step) {
        TrainingPlan.Fault f = plan.fault();
        if (f != null && f.rank() == rank && f.step() == step && f.attempt() == plan.attempt()) {
            throw new IllegalStateException("injected fault: rank " + rank + " fails at step " + step
                    + " on attempt " + plan.attempt());
        }
    }

    private void writeCheckpoint(ModelZoo zoo, PretrainTrainer trainer, List<String> metrics) throws IOException {
        RunCheckpoints.write(zoo, plan.runId(), trainer.state(),
                Map.of("run", plan.runId(), "preset", trainer.config().name()), metrics);
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
}
