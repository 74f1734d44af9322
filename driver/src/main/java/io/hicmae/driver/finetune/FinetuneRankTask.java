package io.hicmae.driver.finetune;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import io.hicmae.driver.pretrain.RankResult;
import io.hicmae.driver.pretrain.TrainingPlan;
import io.hicmae.driver.spark.ExecutorHadoopConf;
import io.hicmae.driver.spark.ProgressReporter;
import io.hicmae.driver.spark.RankSetup;
import io.hicmae.driver.spark.RunCheckpoints;
import io.hicmae.runtime.allreduce.RingAllReduce;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipGeometry;
import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.runtime.data.PlannedClipReader;
import io.hicmae.runtime.data.Seeds;
import io.hicmae.runtime.data.StoredClip;
import io.hicmae.runtime.finetune.FinetuneBatch;
import io.hicmae.runtime.finetune.FinetuneBatchAssembler;
import io.hicmae.runtime.finetune.FinetuneOptions;
import io.hicmae.runtime.finetune.FinetuneTrainer;
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
import java.util.SplittableRandom;

/**
 * One rank of the fine-tuning barrier stage: rendezvous and ring set-up ({@link RankSetup}), the parent's
 * pre-trained weights, resume from the run's last checkpoint, then the step loop: this rank's clips in the epoch
 * order, augmentation and mixup, forward + backward, gradient all-reduce (mean over ranks), AdamW with layer decay.
 * After every epoch all ranks validate: each predicts every world-size-th validation view, one all-reduce gathers
 * the outputs, and the per-video scores (2 views averaged) join that step's metrics line. Rank 0 writes checkpoints
 * and reports progress.
 */
final class FinetuneRankTask extends AbstractFunction1<Iterator<Integer>, Iterator<RankResult>>
        implements Serializable {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LogManager.getLogger(FinetuneRankTask.class);
    private static final long BATCH_TAG = 0x66742d6261746368L;
    private static final long DROP_PATH_TAG = 0x66742d64726f70L;

    private final FinetunePlan plan;
    private final ExecutorHadoopConf hadoop;

    FinetuneRankTask(FinetunePlan plan, ExecutorHadoopConf hadoop) {
        this.plan = plan;
        this.hadoop = hadoop;
    }

    @Override
    public Iterator<RankResult> apply(Iterator<Integer> ignored) {
        BarrierTaskContext ctx = BarrierTaskContext.get();
        try {
            return scala.jdk.javaapi.CollectionConverters.asScala(List.of(run(ctx)).iterator());
        } catch (IOException e) {
            throw new IllegalStateException("rank " + ctx.partitionId() + " of run " + plan.runId() + ": "
                    + e.getMessage(), e);
        }
    }

    private RankResult run(BarrierTaskContext ctx) throws IOException {
        FinetuneConfig cfg = plan.config();
        int rank = ctx.partitionId();
        int world = cfg.worldSize();
        Device device = RankSetup.device(ctx, cfg.stage().device());
        RankSetup.useTaskCpus(ctx);
        HicmaeConfig model = HicmaeConfig.fromJson(plan.modelConfigJson(), plan.parent() + "/config.json");
        FinetuneOptions options = plan.options();
        Configuration conf = hadoop.get();

        try (RingAllReduce ring = RingAllReduce.bind(new InetSocketAddress(0));
                FinetuneTrainer trainer = new FinetuneTrainer(model, options, device, cfg.seed());
                ModelZoo zoo = ModelZoo.open(ModelZoo.rootUri(cfg.zoo()), conf)) {
            // The parent's encoders and fusion by the authors' keys; head and fc_norm stay fresh.
            RunCheckpoints.withVersionWeights(zoo, plan.parent(), trainer::loadPretrained);
            RankSetup.connectRing(ctx, ring, plan.secret(), RankSetup.layoutHash(trainer.state().parameters()),
                    cfg.stage().connectTimeout(), cfg.stage().ioTimeout());
            List<String> metrics = new ArrayList<>();
            RunCheckpoints.restoreLatest(zoo, plan.runId(), trainer::restore, metrics);
            long resumedFrom = trainer.step();
            LOG.info("rank {}/{} on {}, starting at step {} of {} (attempt {})", rank, world, device, resumedFrom,
                    plan.totalSteps(), plan.attempt());

            FinetuneBatchAssembler assembler = ClipPredictor.assembler(trainer, options);
            Map<String, Double> last = new LinkedHashMap<>();
            try (PlannedClipReader trainClips = new PlannedClipReader(ClipIndex.build(cfg.train(), conf), conf,
                            ClipGeometry.STORED);
                    PlannedClipReader valClips = new PlannedClipReader(ClipIndex.build(cfg.val(), conf), conf,
                            ClipGeometry.STORED);
                    ProgressReporter progress = new ProgressReporter(rank == 0 ? plan.progressHost() : null,
                            plan.progressPort(), plan.secret())) {
                int orderEpoch = -1;
                int[] order = null;
                int b = cfg.batchSize();
                while (trainer.step() < plan.totalSteps()) {
                    long step = trainer.step();
                    int epoch = (int) (step / plan.stepsPerEpoch());
                    int s = (int) (step % plan.stepsPerEpoch());
                    injectFault(rank, step);
                    if (epoch != orderEpoch) {
                        order = ClipSelection.epochOrder(plan.train(), cfg.seed(), epoch, rank, world);
                        long[] positions = new long[(int) plan.stepsPerEpoch() * b];
                        for (int i = 0; i < positions.length; i++) {
                            positions[i] = plan.train().get(order[i]).position();
                        }
                        trainClips.plan(positions);
                        orderEpoch = epoch;
                    }
                    long t0 = System.nanoTime();
                    List<byte[]> frames = new ArrayList<>(b);
                    List<short[]> pcm = new ArrayList<>(b);
                    List<ClipEntry> labels = new ArrayList<>(b);
                    for (int i = s * b; i < (s + 1) * b; i++) {
                        StoredClip c = trainClips.get(i);
                        frames.add(c.frames());
                        pcm.add(c.pcm());
                        labels.add(plan.train().get(order[i]));
                    }
                    long t1 = System.nanoTime();
                    float loss;
                    double lr;
                    long t2;
                    long t3;
                    try (NDManager sm = trainer.newStepManager()) {
                        SplittableRandom rng = new SplittableRandom(Seeds.mix(BATCH_TAG, cfg.seed(), epoch, rank, s));
                        long dropSeed = Seeds.mix(DROP_PATH_TAG, cfg.seed(), epoch, rank, s);
                        FinetuneBatch batch = batch(assembler, sm, frames, pcm, labels, rng, dropSeed);
                        loss = trainer.computeGradients(sm, batch);
                        t2 = System.nanoTime();
                        ring.allReduceMean(trainer.gradientBytes(), step);
                        t3 = System.nanoTime();
                        lr = trainer.applyGradients(sm);
                    }
                    long t4 = System.nanoTime();
                    JsonObject line = new JsonObject();
                    line.addProperty("step", step + 1);
                    line.addProperty("total_steps", plan.totalSteps());
                    line.addProperty("epoch", epoch);
                    line.addProperty("loss", loss);
                    line.addProperty("lr", lr);
                    line.addProperty("clips", (long) world * b);
                    line.addProperty("ms_data", (t1 - t0) / 1e6);
                    line.addProperty("ms_compute", (t2 - t1) / 1e6);
                    line.addProperty("ms_allreduce", (t3 - t2) / 1e6);
                    line.addProperty("ms_optimizer", (t4 - t3) / 1e6);
                    last.put("loss", (double) loss);
                    boolean epochEnd = trainer.step() % plan.stepsPerEpoch() == 0
                            || trainer.step() == plan.totalSteps();
                    if (epochEnd) {
                        long v0 = System.nanoTime();
                        Map<String, Double> val = validate(trainer, assembler, valClips, ring, rank, world, epoch);
                        val.forEach(line::addProperty);
                        last.putAll(val);
                        line.addProperty("ms_validation", (System.nanoTime() - v0) / 1e6);
                    }
                    if (rank == 0) {
                        metrics.add(line.toString());
                        if (trainer.step() % cfg.checkpointEvery() == 0 || epochEnd) {
                            RunCheckpoints.write(zoo, plan.runId(), trainer.state(),
                                    Map.of("run", plan.runId(), "parent", plan.parent()), metrics);
                        }
                        progress.send(line.toString());
                    }
                }
            }
            return new RankResult(rank, device.toString(), RankSetup.assignedGpu(ctx), resumedFrom, trainer.step(),
                    last, RankSetup.digest(trainer.state().parameters()));
        }
    }

    private static FinetuneBatch batch(FinetuneBatchAssembler assembler, NDManager sm, List<byte[]> frames,
            List<short[]> pcm, List<ClipEntry> labels, SplittableRandom rng, long dropSeed) {
        if (labels.get(0).isCategorical()) {
            long[] y = labels.stream().mapToLong(ClipEntry::category).toArray();
            return assembler.train(sm, frames, pcm, y, rng, dropSeed);
        }
        float[][] y = labels.stream().map(ClipEntry::dimensions).toArray(float[][]::new);
        return assembler.trainRegression(sm, frames, pcm, y, rng, dropSeed);
    }

    /**
     * Every rank predicts its share of the validation views; the all-reduce (tagged apart from the training steps)
     * gives every rank all outputs, from which each computes the same per-video scores.
     */
    private Map<String, Double> validate(FinetuneTrainer trainer, FinetuneBatchAssembler assembler,
            PlannedClipReader valClips, RingAllReduce ring, int rank, int world, int epoch) throws IOException {
        List<ClipEntry> views = plan.val();
        int q = trainer.options().task().outputs();
        float[] out = new float[views.size() * q];
        ClipPredictor.predict(trainer, assembler, valClips, views, rank, world, plan.config().batchSize(), out);
        ring.allReduceMean(out, -1L - epoch);
        for (int i = 0; i < out.length; i++) {
            out[i] *= world; // each slot was written by exactly one rank: the mean is value / world
        }
        return ClipPredictor.scalars(ClipPredictor.report(plan.space(),
                ClipPredictor.average(trainer.options().task(), views, out)), "val_");
    }

    private void injectFault(int rank, long step) {
        TrainingPlan.Fault f = plan.fault();
        if (f != null && f.rank() == rank && f.step() == step && f.attempt() == plan.attempt()) {
            throw new IllegalStateException("injected fault: rank " + rank + " fails at step " + step
                    + " on attempt " + plan.attempt());
        }
    }
}
