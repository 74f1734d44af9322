package io.hicmae.driver.spark;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import io.hicmae.runtime.allreduce.RingAllReduce;
import io.hicmae.runtime.train.AbstractTrainer;
import io.hicmae.zoo.ModelZoo;
import org.apache.hadoop.conf.Configuration;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.BarrierTaskContext;
import scala.collection.Iterator;
import scala.runtime.AbstractFunction1;

import java.io.IOException;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One rank of a training job's barrier stage, the loop every training job shares, run inside a Spark task:
 * device and CPUs, rendezvous through {@code allGather} and the ring, resume from the run's last checkpoint, then
 * per optimiser step: the job's micro-batch(es) ({@link RankStep#next}, {@link RankStep#computeGradients}), the
 * gradient all-reduce, the post-reduce update ({@link #update}), the job's end-of-epoch work, and on rank 0 the
 * metrics line, checkpoints and progress ({@link #report}). Everything the rank opens is closed in
 * {@code finally}; cleanup never hides the first error.
 */
public final class TrainingRankTask extends AbstractFunction1<Iterator<Integer>, Iterator<RankResult>>
        implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LogManager.getLogger(TrainingRankTask.class);

    private final TrainingSpec spec;

    public TrainingRankTask(TrainingSpec spec) {
        this.spec = spec;
    }

    @Override
    public Iterator<RankResult> apply(Iterator<Integer> ignored) {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        try {
            return scala.jdk.javaapi.CollectionConverters.asScala(List.of(run(ctx)).iterator());
        } catch (IOException e) {
            throw new IllegalStateException("rank " + ctx.partitionId() + " of run " + spec.run().runId() + ": "
                    + e.getMessage(), e);
        }
    }

    /** The step this attempt resumed from (0: from the start), for the resume mark in the metrics lines. */
    private transient long resumedFrom;

    private RankResult run(BarrierTaskContext ctx) throws IOException {
        RunPlan plan = spec.run();
        BarrierStage.Settings stage = spec.stage();
        int rank = ctx.partitionId();
        int world = stage.worldSize();
        Device device = RankSetup.device(ctx, stage.device());
        RankSetup.useTaskCpus(ctx);

        try (RingAllReduce ring = RankSetup.bindRing(ctx, stage.ringPorts());
                ModelZoo zoo = ModelZoo.open(spec.zoo());
                RankStep<?> job = spec.open(new RankEnv(rank, world, device, zoo, new Configuration()))) {
            AbstractTrainer<?> trainer = job.trainer();
            RankSetup.connectRing(ctx, ring, plan.secret(), RankSetup.layoutHash(trainer.state().parameters()),
                    stage.connectTimeout(), stage.ioTimeout(), plan.runId(), plan.attempt(), spec.allReduceDtype());
            List<String> metrics = new ArrayList<>();
            RunCheckpoints.restoreLatest(zoo, plan.runId(), trainer::restore, metrics);
            long resumedFrom = trainer.step();
            this.resumedFrom = resumedFrom;
            LOG.info("rank {}/{} on {} at {}:{}, starting at step {} of {} (attempt {})", rank, world, device,
                    RankSetup.host(ctx), ring.localAddress().getPort(), resumedFrom, plan.totalSteps(),
                    plan.attempt());
            Map<String, Double> finalLosses = new LinkedHashMap<>();
            try (ProgressReporter progress = new ProgressReporter(rank == 0 ? plan.progressHost() : null,
                    plan.progressPort(), plan.secret())) {
                job.seek(trainer.step());
                Map<String, Double> lastEpochValues = new LinkedHashMap<>();
                while (trainer.step() < plan.totalSteps()) {
                    long step = trainer.step();
                    injectFault(rank, step);
                    StepOutcome out = step(job, ring, step);
                    long done = trainer.step();
                    Map<String, Double> epochValues = Map.of();
                    long validationNanos = 0;
                    boolean epochEnd = done % plan.stepsPerEpoch() == 0 || done == plan.totalSteps();
                    if (epochEnd) {
                        long v0 = System.nanoTime();
                        epochValues = job.endOfEpoch(plan.epochOf(step), ring);
                        validationNanos = System.nanoTime() - v0;
                        lastEpochValues.putAll(epochValues);
                    }
                    finalLosses = new LinkedHashMap<>(job.lossMap(out.losses()));
                    finalLosses.putAll(lastEpochValues);
                    if (rank == 0) {
                        boolean checkpoint = done % spec.checkpointEvery() == 0 || done == plan.totalSteps()
                                || (spec.checkpointEveryEpoch() && epochEnd);
                        report(job, zoo, trainer, metrics, progress, step, out, epochValues, validationNanos,
                                checkpoint);
                    }
                }
            }
            return new RankResult(rank, device.toString(), RankSetup.assignedGpu(ctx), resumedFrom, trainer.step(),
                    finalLosses, RankSetup.digest(trainer.state().parameters()));
        }
    }

    /** One optimiser step: data, forward and backward, the all-reduce and the update, timed. */
    private <B> StepOutcome step(RankStep<B> job, RingAllReduce ring, long step) throws IOException {
        AbstractTrainer<?> trainer = job.trainer();
        long t0 = System.nanoTime();
        B batch = job.next(step);
        long t1 = System.nanoTime();
        float[] losses;
        Update u;
        long t2;
        long t3;
        try (NDManager stepManager = trainer.newStepManager()) {
            losses = job.computeGradients(stepManager, batch, step);
            t2 = System.nanoTime();
            ring.allReduceMean(trainer.gradientBytes(), step);
            t3 = System.nanoTime();
            u = update(trainer, stepManager);
        }
        long t4 = System.nanoTime();
        return new StepOutcome(losses, u.lr(), u.gradNorm(), t1 - t0, t2 - t1, t3 - t2, t4 - t3);
    }

    /**
     * What follows the all-reduce, in the one order every job and precision shares (see ../shared/wave-2.md): the
     * reduced gradients' norm (and, where added, the finite check and fp16 unscale), then clipping and the optimiser
     * inside {@link AbstractTrainer#applyGradients}. Extension point of the post-reduce order.
     */
    private static Update update(AbstractTrainer<?> trainer, NDManager stepManager) {
        double gradNorm = trainer.gradientNorm();
        double lr = trainer.applyGradients(stepManager);
        return new Update(lr, gradNorm);
    }

    /**
     * Rank 0's end of a step: the metrics line, the checkpoint when due (its line then carries the write's time)
     * and the progress line to the driver. Extension point of the progress channel.
     */
    private void report(RankStep<?> job, ModelZoo zoo, AbstractTrainer<?> trainer, List<String> metrics,
            ProgressReporter progress, long step, StepOutcome out, Map<String, Double> epochValues,
            long validationNanos, boolean checkpoint) throws IOException {
        metrics.add(metricsLine(job, step, out, epochValues, validationNanos, 0));
        if (checkpoint) {
            long c0 = System.nanoTime();
            RunCheckpoints.write(zoo, spec.run().runId(), trainer.state(), spec.checkpointMetadata(), metrics);
            metrics.set(metrics.size() - 1,
                    metricsLine(job, step, out, epochValues, validationNanos, System.nanoTime() - c0));
        }
        progress.send(metrics.get(metrics.size() - 1));
    }

    private String metricsLine(RankStep<?> job, long step, StepOutcome out, Map<String, Double> epochValues,
            long validationNanos, long checkpointNanos) {
        RunPlan plan = spec.run();
        JsonObject o = new JsonObject();
        o.addProperty("step", step + 1);
        o.addProperty("total_steps", plan.totalSteps());
        o.addProperty("epoch", plan.epochOf(step));
        job.addLosses(o, out.losses());
        o.addProperty("lr", out.lr());
        o.addProperty("grad_norm", out.gradNorm());
        o.addProperty("clips", (long) spec.stage().worldSize() * spec.microBatch());
        o.addProperty("ms_data", out.dataNanos() / 1e6);
        o.addProperty("ms_compute", out.computeNanos() / 1e6);
        o.addProperty("ms_allreduce", out.allReduceNanos() / 1e6);
        o.addProperty("ms_optimizer", out.optimizerNanos() / 1e6);
        o.addProperty("ms_checkpoint", checkpointNanos / 1e6);
        o.addProperty("world_size", spec.stage().worldSize()); // the model card's chart marks changes and resumes
        if (resumedFrom > 0 && step == resumedFrom) {
            o.addProperty("resumed", 1);
        }
        if (!epochValues.isEmpty()) {
            epochValues.forEach(o::addProperty);
            o.addProperty("ms_validation", validationNanos / 1e6);
        }
        return o.toString();
    }

    private void injectFault(int rank, long step) {
        RunPlan plan = spec.run();
        RunPlan.Fault f = plan.fault();
        if (f != null && f.rank() == rank && f.step() == step && f.attempt() == plan.attempt()) {
            throw new IllegalStateException("injected fault: rank " + rank + " fails at step " + step
                    + " on attempt " + plan.attempt());
        }
    }

    /** The scheduled lr of a step and its reduced gradients' norm. */
    private record Update(double lr, double gradNorm) {}

    /** One step's loss terms, update and phase times. */
    private record StepOutcome(float[] losses, double lr, double gradNorm, long dataNanos, long computeNanos,
            long allReduceNanos, long optimizerNanos) {}
}
