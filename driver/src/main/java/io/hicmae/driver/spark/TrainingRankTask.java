package io.hicmae.driver.spark;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import io.hicmae.runtime.allreduce.RingAllReduce;
import io.hicmae.runtime.train.AbstractTrainer;
import io.hicmae.runtime.train.StepMetrics;
import io.hicmae.zoo.ModelZoo;
import org.apache.hadoop.conf.Configuration;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.BarrierTaskContext;
import scala.collection.Iterator;
import scala.runtime.AbstractFunction1;

import java.io.IOException;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One rank of a training job's barrier stage, the loop every training job shares, run inside a Spark task:
 * device and CPUs, rendezvous through {@code allGather} and the ring, resume from the run's last checkpoint, then
 * per optimiser step: the rank's M / W micro-batches ({@link RankStep#next}, {@link RankStep#computeGradients}) with
 * their gradients and losses averaged ({@link GradientSum}), the all-reduce of both, the post-reduce update
 * ({@link #update}), the job's end-of-epoch work, and on rank 0 the metrics line, checkpoints and progress
 * ({@link #report}). The logged loss of a step is the mean over all its micro-batches on all ranks, so a step is
 * the same on any world size dividing M. Everything the rank opens is closed in
 * {@code finally}; cleanup never hides the first error.
 */
public final class TrainingRankTask extends AbstractFunction1<Iterator<Integer>, Iterator<RankResult>>
        implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LogManager.getLogger(TrainingRankTask.class);
    /** All-reduce tags of the per-step loss terms: apart from the gradients' (the step) and the jobs' (below 0). */
    private static final long LOSS_TAG = 1L << 62;
    /** Tries of one checkpoint upload before the rank reports it failed, and the wait after the first. */
    private static final int CHECKPOINT_ATTEMPTS = 3;
    private static final Duration CHECKPOINT_BACKOFF = Duration.ofSeconds(1);

    private final TrainingSpec spec;
    private final ExecutorHadoopConf hadoop;

    /** A rank of {@code spec} that opens the zoo and data with the driver's shipped Hadoop configuration. */
    public TrainingRankTask(TrainingSpec spec, ExecutorHadoopConf hadoop) {
        this.spec = spec;
        this.hadoop = hadoop;
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
        int world = plan.worldSize();
        Device device = RankSetup.device(ctx, stage.device());
        RankSetup.useTaskCpus(ctx);
        RankSetup.checkMalloc(device);
        Configuration conf = hadoop.get();

        try (RingAllReduce ring = RankSetup.bindRing(ctx, stage.ringPorts());
                ModelZoo zoo = ModelZoo.open(ModelZoo.rootUri(spec.zoo()), conf);
                RankStep<?> job = spec.open(new RankEnv(rank, world, device, zoo, conf));
                ClipLog clipLog = ClipLog.open(plan.runId(), plan.attempt(), rank)) {
            AbstractTrainer<?> trainer = job.trainer();
            RankSetup.connectRing(ctx, ring, plan.secret(), RankSetup.layoutHash(trainer.state().parameters()),
                    stage.connectTimeout(), stage.ioTimeout(), plan.runId(), plan.attempt(), spec.allReduceDtype());
            List<String> metrics = new ArrayList<>();
            RunCheckpoints.restoreLatest(zoo, plan.runId(), trainer::restore, metrics);
            long resumedFrom = trainer.step();
            this.resumedFrom = resumedFrom;
            int share = plan.batch().perRank(world);
            LOG.info("rank {}/{} on {} at {}:{}, starting at step {} of {} (attempt {}), {} micro-batch(es) of {} "
                    + "per step", rank, world, device, RankSetup.host(ctx), ring.localAddress().getPort(),
                    resumedFrom, plan.totalSteps(), plan.attempt(), share, plan.batch().microBatch());
            GradientSum sum = share > 1 ? new GradientSum(trainer.parameterCount()) : null;
            Map<String, Double> finalLosses = new LinkedHashMap<>();
            Duration checkpointWait = checkpointWait(stage);
            String stopped = null;
            Preemption.install();
            long preemptionToken = Preemption.enter();
            CheckpointWriter writer = rank == 0 ? new CheckpointWriter(zoo, plan.runId(), spec.asyncCheckpoints(),
                    CHECKPOINT_ATTEMPTS, CHECKPOINT_BACKOFF) : null;
            try (ProgressReporter progress = new ProgressReporter(rank == 0 ? plan.progressHost() : null,
                    plan.progressPort(), plan.secret())) {
                job.seek(trainer.step());
                Map<String, Double> lastEpochValues = new LinkedHashMap<>();
                while (trainer.step() < plan.totalSteps()) {
                    long step = trainer.step();
                    injectFault(rank, step);
                    String grow = growRequest(zoo, rank, world);
                    StepOutcome out = step(job, ring, step, share, sum, clipLog, rank, world,
                            Preemption.requested() != null, grow != null);
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
                    if (out.stopFlagged() && done < plan.totalSteps() && done % stage.noticeEvery() == 0) {
                        stopped = agreeOnStop(ctx, rank, grow); // every rank saw the same flags
                    }
                    finalLosses.values().removeIf(v -> v == null || !Double.isFinite(v)); // metadata.json: no NaN
                    if (rank == 0) {
                        boolean checkpoint = done % spec.checkpointEvery() == 0 || done == plan.totalSteps()
                                || (spec.checkpointEveryEpoch() && epochEnd) || stopped != null;
                        report(job, writer, trainer, metrics, progress, step, out, epochValues, validationNanos,
                                checkpoint, world, checkpointWait);
                    }
                    if (stopped != null) {
                        LOG.warn("rank {}: stopping after step {} at its checkpoint: {}", rank, done, stopped);
                        break;
                    }
                }
                if (writer != null) {
                    writer.flush(checkpointWait); // the driver publishes the last checkpoint
                }
            } finally {
                if (writer != null) {
                    // A failure of this rank's own lets the last snapshot land; a cancelled stage abandons it.
                    writer.close(ctx.isInterrupted() || Thread.currentThread().isInterrupted(), checkpointWait);
                }
                Preemption.release(preemptionToken);
            }
            return new RankResult(rank, device.toString(), RankSetup.assignedGpu(ctx), resumedFrom, trainer.step(),
                    finalLosses, RankSetup.digest(trainer.state().parameters()), stopped);
        }
    }

    /**
     * One optimiser step, timed: this rank's {@code share} micro-batches (data, forward and backward; with more
     * than one, their gradients and losses averaged through {@code sum}), the all-reduce of the gradients and of
     * the loss terms (with the stop flags: {@code noticed}, this rank's preemption notice, and {@code growing}, rank
     * 0's grow request), and the update. Each micro-batch's clips go to {@code clipLog} when test mode has one.
     * With one micro-batch, an overlapped update and a job whose backward pass runs in stages ({@link RankStep#forward}),
     * the gradient all-reduce runs beside the backward pass, after the loss terms' all-reduce.
     */
    private <B> StepOutcome step(RankStep<B> job, RingAllReduce ring, long step, int share, GradientSum sum,
            ClipLog clipLog, int rank, int world, boolean noticed, boolean growing) throws IOException {
        AbstractTrainer<?> trainer = job.trainer();
        // null: no overlap (off, not fusable, or one rank, where no wire time would hide the optimiser)
        io.hicmae.runtime.train.OverlappedUpdate overlapped = world > 1 ? trainer.overlappedUpdate() : null;
        long dataNanos = 0;
        long computeNanos = 0;
        float[] losses = null;
        // With one micro-batch the gradient all-reduce can run beside its backward pass, when the job's runs in stages.
        NDManager pendingManager = null;
        RankStep.Forward pending = null;
        try {
            for (int i = 0; i < share; i++) {
                long t0 = System.nanoTime();
                B batch = job.next(step);
                long t1 = System.nanoTime();
                if (clipLog != null) {
                    clipLog.add(step, world, rank, rank * share + i, job.clipIds(batch));
                }
                dataNanos += t1 - t0;
                if (overlapped != null && share == 1) {
                    pendingManager = trainer.newStepManager();
                    pending = job.forward(pendingManager, batch, step);
                    if (pending != null) {
                        losses = pending.losses();
                        computeNanos += System.nanoTime() - t1;
                        break;
                    }
                    pendingManager.close();
                    pendingManager = null;
                }
                try (NDManager microManager = trainer.newStepManager()) {
                    float[] l = job.computeGradients(microManager, batch, step);
                    if (losses == null) {
                        losses = l;
                    } else {
                        for (int k = 0; k < l.length; k++) {
                            losses[k] += l[k];
                        }
                    }
                }
                if (sum != null) {
                    sum.add(trainer.gradients());
                }
                computeNanos += System.nanoTime() - t1;
            }
            if (sum != null) {
                sum.writeMeanTo(trainer.gradients());
                for (int k = 0; k < losses.length; k++) {
                    losses[k] /= share;
                }
            }
            io.hicmae.runtime.train.StepOutcome u;
            boolean stopFlagged = false;
            long t2 = System.nanoTime();
            long t3;
            long backwardNanos = 0;
            try (NDManager stepManager = trainer.newStepManager()) {
                // The losses first: between the overlapped gradient all-reduce and its finish nothing else may fail.
                // The loss terms carry the stop flags: slot n + r is rank r's preemption notice, slot n + W rank 0's
                // grow request; after the mean every rank holds the same values, so all take the same decision.
                int n = losses.length;
                float[] reduced = java.util.Arrays.copyOf(losses, n + world + 1);
                reduced[n + rank] = noticed ? 1 : 0;
                reduced[n + world] = growing ? 1 : 0;
                ring.allReduceMean(reduced, LOSS_TAG + step);
                System.arraycopy(reduced, 0, losses, 0, n);
                for (int k = n; k < reduced.length; k++) {
                    stopFlagged |= reduced[k] != 0;
                }
                if (pending != null) {
                    RankStep.Forward f = pending;
                    long[] backwardEnd = new long[1];
                    long b0 = System.nanoTime();
                    overlapped.reduceDuringBackward(ring, step, written -> {
                        f.backward().run(written);
                        backwardEnd[0] = System.nanoTime();
                    });
                    backwardNanos = backwardEnd[0] - b0;
                } else if (overlapped == null) {
                    ring.allReduceMean(trainer.gradientBytes(), step);
                } else {
                    overlapped.reduce(ring, step);
                }
                t3 = System.nanoTime();
                u = overlapped == null ? update(trainer, stepManager) : overlapped.finish(stepManager);
            }
            long t4 = System.nanoTime();
            // Beside the backward pass, the all-reduce's time is what it added after the backward pass ended.
            computeNanos += backwardNanos;
            long allReduceNanos = t3 - t2 - backwardNanos;
            if (LOG.isDebugEnabled()) { // every rank's phases (rank 0's metrics line shows only its own)
                LOG.debug("rank {} step {}: data {} ms, compute {} ms, all-reduce {} ms, optimiser {} ms{}", rank,
                        step + 1, dataNanos / 1_000_000, computeNanos / 1_000_000, allReduceNanos / 1_000_000,
                        (t4 - t3) / 1_000_000, pending != null ? " (all-reduce beside the backward pass)" : "");
            }
            return new StepOutcome(losses, u, dataNanos, computeNanos, allReduceNanos, t4 - t3, stopFlagged);
        } finally {
            if (pendingManager != null) {
                pendingManager.close();
            }
        }
    }

    /**
     * What follows the all-reduce, in the one order every job and precision shares (see ../shared/wave-2.md),
     * {@link AbstractTrainer#finishStep}: the reduced gradients' norm and finite check, the fp16 unscale and overflow
     * skip, clipping, the fused optimiser. Extension point of the post-reduce order.
     */
    private static io.hicmae.runtime.train.StepOutcome update(AbstractTrainer<?> trainer, NDManager stepManager) {
        return trainer.finishStep(stepManager);
    }

    /**
     * Rank 0's end of a step: the metrics line, the checkpoint when due (its line then carries the training
     * thread's stall for it: the whole write when synchronous, the copy to host memory when not)
     * and the progress line to the driver. Extension point of the progress channel.
     */
    private void report(RankStep<?> job, CheckpointWriter writer, AbstractTrainer<?> trainer, List<String> metrics,
            ProgressReporter progress, long step, StepOutcome out, Map<String, Double> epochValues,
            long validationNanos, boolean checkpoint, int world, Duration checkpointWait) throws IOException {
        metrics.add(metricsLine(job, step, out, epochValues, validationNanos, 0, world));
        if (checkpoint) {
            long c0 = System.nanoTime();
            Map<String, String> metadata = new LinkedHashMap<>(spec.checkpointMetadata());
            metadata.putAll(CheckpointFields.of(spec.run(), spec.seed(), trainer.step(), world));
            writer.submit(trainer.state(), metadata, metrics, checkpointWait);
            metrics.set(metrics.size() - 1,
                    metricsLine(job, step, out, epochValues, validationNanos, System.nanoTime() - c0, world));
        }
        progress.send(metrics.get(metrics.size() - 1));
    }

    /** How long rank 0 waits for a checkpoint upload: the io deadline, and at least 10 minutes. */
    private static Duration checkpointWait(BarrierStage.Settings stage) {
        Duration min = Duration.ofMinutes(10);
        return stage.ioTimeout().compareTo(min) > 0 ? stage.ioTimeout() : min;
    }

    private String metricsLine(RankStep<?> job, long step, StepOutcome out, Map<String, Double> epochValues,
            long validationNanos, long checkpointNanos, int world) {
        RunPlan plan = spec.run();
        JsonObject o = new JsonObject();
        o.addProperty("step", step + 1);
        o.addProperty("total_steps", plan.totalSteps());
        o.addProperty("epoch", plan.epochOf(step));
        job.addLosses(o, out.losses());
        StepMetrics.nullNonFinite(o); // JSON has no NaN: a non-finite loss term is written as null
        StepMetrics.putOutcome(o, out.update());
        o.addProperty("clips", plan.batch().clips());
        o.addProperty("world_size", world);
        o.addProperty("ms_data", out.dataNanos() / 1e6);
        o.addProperty("ms_compute", out.computeNanos() / 1e6);
        o.addProperty("ms_allreduce", out.allReduceNanos() / 1e6);
        o.addProperty("ms_optimizer", out.optimizerNanos() / 1e6);
        o.addProperty("ms_checkpoint", checkpointNanos / 1e6);
        if (resumedFrom > 0 && step == resumedFrom) {
            o.addProperty("resumed", 1);
        }
        if (!epochValues.isEmpty()) {
            epochValues.forEach(o::addProperty);
            o.addProperty("ms_validation", validationNanos / 1e6);
        }
        return o.toString();
    }

    /**
     * The texts behind a stop the step's flags asked for: every rank's flags ride the loss all-reduce each step
     * (free), and only when one is set do all ranks make this one barrier round trip ({@code allGather}, about a
     * second in local mode), each saying its preemption notice ({@link Preemption}) and rank 0 the driver's grow
     * request ({@code grow}). A notice wins over a grow request: either way the stage stops at this step's
     * checkpoint.
     *
     * @return why the stage stops (the first notice, naming its rank and host, or the grow request), or null
     */
    private static String agreeOnStop(BarrierTaskContext ctx, int rank, String grow) {
        String mine = Preemption.requested();
        String said = mine != null ? NOTICE + "rank " + rank + " on " + RankSetup.host(ctx) + ": " + mine
                : grow != null ? GROW + grow : "";
        String[] all = ctx.allGather(said);
        String growing = null;
        for (String s : all) {
            if (s.startsWith(NOTICE)) {
                return s.substring(NOTICE.length());
            }
            if (s.startsWith(GROW)) {
                growing = s.substring(GROW.length());
            }
        }
        return growing;
    }

    private static final String NOTICE = "N";
    private static final String GROW = "G";

    /**
     * Rank 0's reading of the driver's grow request ({@link GrowRequest}) for this attempt, while it runs an
     * elastic stage below world-size; null otherwise. Read at most once a second and kept once seen; a failed read
     * is logged and leaves the stage as it is: a later step reads again.
     */
    private String growRequest(ModelZoo zoo, int rank, int world) {
        BarrierStage.Settings stage = spec.stage();
        if (rank != 0 || !stage.elastic() || world >= stage.worldSize() || grow != null
                || (lastGrowRead != 0 && System.nanoTime() - lastGrowRead < GROW_READ_NANOS)) {
            return grow;
        }
        lastGrowRead = System.nanoTime();
        try {
            grow = GrowRequest.read(zoo, spec.run().runId(), spec.run().attempt()).map(GrowRequest::stopMessage)
                    .orElse(null);
        } catch (IOException | RuntimeException e) {
            LOG.warn("rank 0: could not read the driver's grow request: {}", e.toString());
        }
        return grow;
    }

    /** Rank 0 reads the grow request at most once a second (the driver counts the slots as often). */
    private static final long GROW_READ_NANOS = 1_000_000_000L;
    /** The grow request rank 0 has read for this attempt (it stands until the stage stops), or null. */
    private transient String grow;
    /** When rank 0 last read it (System.nanoTime), 0 before the first read. */
    private transient long lastGrowRead;

    private void injectFault(int rank, long step) {
        RunPlan plan = spec.run();
        RunPlan.Fault f = plan.fault();
        if (f != null && f.rank() == rank && f.step() == step && f.attempt() == plan.attempt()) {
            if (f.preempt()) {
                Preemption.request("injected preemption notice at step " + step + " on attempt " + plan.attempt());
                return;
            }
            throw new IllegalStateException("injected fault: rank " + rank + " fails at step " + step
                    + " on attempt " + plan.attempt());
        }
    }

    /** One step's loss terms, post-reduce outcome (lr, norm, skip, loss scale) and phase times. */
    private record StepOutcome(float[] losses, io.hicmae.runtime.train.StepOutcome update, long dataNanos,
            long computeNanos, long allReduceNanos, long optimizerNanos, boolean stopFlagged) {}
}
