package io.hicmae.driver.finetune;

import ai.djl.ndarray.NDManager;
import io.hicmae.driver.spark.MicroBatchPrefetcher;
import io.hicmae.driver.spark.RankEnv;
import io.hicmae.driver.spark.RankStep;
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
import io.hicmae.runtime.finetune.FinetuneTrainer;
import io.hicmae.runtime.train.AbstractTrainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Fine-tuning's part of a rank of the shared loop: a {@link FinetuneTrainer} with the parent's encoders and fusion
 * weights, the micro-batches of this rank's slots in the shared epoch order ({@link ClipIndex#restrict} to the
 * training clips, {@link ClipIndex#servingOrder}) read ahead on a background thread
 * ({@link MicroBatchPrefetcher}, {@link #PREFETCH_STEPS} steps), augmentation and mixup on the host
 * ({@link FinetuneBatchAssembler}) from generators keyed by (seed, epoch, slot, step), never by the rank,
 * and after every epoch the validation all ranks run together: each predicts every world-size-th validation view,
 * one all-reduce gathers the outputs, and every rank computes the same per-video scores. Loss terms: loss.
 */
final class FinetuneStep implements RankStep<FinetuneStep.MicroBatch> {

    private static final long BATCH_TAG = 0x66742d6261746368L;
    private static final long DROP_PATH_TAG = 0x66742d64726f70L;

    /** Steps of micro-batches read ahead. */
    static final int PREFETCH_STEPS = 2;

    /** Row groups whose clips are shuffled together in a slot's epoch order. */
    static final int WINDOW_ROW_GROUPS = 2;

    /** One micro-batch's stored clips, labels and where it sits in the epoch (its randomness key). */
    record MicroBatch(List<byte[]> frames, List<short[]> pcm, List<ClipEntry> labels, int epoch, int slot,
            int stepInEpoch) {}

    private final FinetunePlan plan;
    private final RankEnv env;
    private final FinetuneTrainer trainer;
    private final FinetuneBatchAssembler assembler;
    private final PlannedClipReader trainClips;
    private final PlannedClipReader valClips;
    private final ClipIndex trainIndex;
    private final Map<Long, ClipEntry> byPosition = new HashMap<>();
    private int plannedEpoch = -1;
    private int plannedFrom;
    private long[] planned;
    private final MicroBatchPrefetcher<MicroBatch> prefetch;

    private FinetuneStep(FinetunePlan plan, RankEnv env, FinetuneTrainer trainer, ClipIndex trainIndex,
            PlannedClipReader trainClips, PlannedClipReader valClips) {
        this.plan = plan;
        this.env = env;
        this.trainer = trainer;
        this.assembler = ClipPredictor.assembler(trainer, plan.options());
        this.trainIndex = trainIndex;
        this.trainClips = trainClips;
        this.valClips = valClips;
        plan.train().forEach(e -> byPosition.put(e.position(), e));
        int share = plan.run().batch().perRank(env.worldSize());
        this.prefetch = new MicroBatchPrefetcher<>("finetune-rank-" + env.rank(), this::read, share,
                plan.run().totalSteps(), PREFETCH_STEPS * share);
    }

    static FinetuneStep open(FinetunePlan plan, RankEnv env) throws IOException {
        FinetuneConfig cfg = plan.config();
        HicmaeConfig model = HicmaeConfig.fromJson(plan.modelConfigJson(), plan.parent() + "/config.json");
        FinetuneTrainer trainer = new FinetuneTrainer(model, plan.options(), env.device(), cfg.seed());
        trainer.use(io.hicmae.driver.config.StepKeys.policy(cfg.step(), env.device())); // precision, non-finite limit
        PlannedClipReader trainClips = null;
        try {
            // The parent's encoders and fusion by the authors' keys; head and fc_norm stay fresh.
            RunCheckpoints.withVersionWeights(env.zoo(), plan.parent(), trainer::loadPretrained);
            ClipIndex index = ClipIndex.build(cfg.train(), env.hadoop());
            trainClips = new PlannedClipReader(index, env.hadoop(), ClipGeometry.STORED);
            PlannedClipReader valClips = new PlannedClipReader(ClipIndex.build(cfg.val(), env.hadoop()),
                    env.hadoop(), ClipGeometry.STORED);
            long[] positions = plan.train().stream().mapToLong(ClipEntry::position).toArray();
            return new FinetuneStep(plan, env, trainer, index.restrict(positions), trainClips, valClips);
        } catch (IOException | RuntimeException e) {
            try (FinetuneTrainer t = trainer; PlannedClipReader r = trainClips) {
                throw e;
            }
        }
    }

    @Override
    public AbstractTrainer<?> trainer() {
        return trainer;
    }

    @Override
    public void seek(long step) {
        prefetch.close(); // its thread plans and reads: stopped before the plan is dropped
        plannedEpoch = -1;
        prefetch.seek(step);
    }

    /** This rank's next micro-batch of {@code step}, read ahead; waits at most the stage's io deadline. */
    @Override
    public MicroBatch next(long step) throws IOException {
        return prefetch.next(step, plan.stage().ioTimeout());
    }

    /**
     * The micro-batch of this rank's slot {@code part} at {@code step}, on the prefetch thread; the epoch's reads
     * are planned on its first.
     */
    private MicroBatch read(long step, int part) throws IOException {
        int b = plan.config().batchSize();
        int slots = plan.run().batch().microBatches();
        int share = plan.run().batch().perRank(env.worldSize());
        int firstSlot = env.rank() * share;
        int perEpoch = Math.toIntExact(plan.run().stepsPerEpoch());
        int epoch = plan.run().epochOf(step);
        int s = (int) (step % perEpoch);
        if (epoch != plannedEpoch) {
            planned = trainIndex.servingOrder(plan.config().seed(), epoch, firstSlot, share, slots, b, s, perEpoch,
                    WINDOW_ROW_GROUPS);
            trainClips.plan(planned);
            plannedEpoch = epoch;
            plannedFrom = s;
        }
        int first = ((s - plannedFrom) * share + part) * b;
        List<byte[]> frames = new ArrayList<>(b);
        List<short[]> pcm = new ArrayList<>(b);
        List<ClipEntry> labels = new ArrayList<>(b);
        for (int i = first; i < first + b; i++) {
            StoredClip c = trainClips.get(i);
            frames.add(c.frames());
            pcm.add(c.pcm());
            labels.add(byPosition.get(planned[i]));
        }
        return new MicroBatch(frames, pcm, labels, epoch, firstSlot + part, s);
    }

    @Override
    public float[] computeGradients(NDManager sm, MicroBatch mb, long step) {
        return new float[] {trainer.computeGradients(sm, batch(sm, mb))};
    }

    @Override
    public Forward forward(NDManager sm, MicroBatch mb, long step) {
        FinetuneTrainer.Forward f = trainer.forward(sm, batch(sm, mb));
        return new Forward(new float[] {f.loss()}, f.backward());
    }

    /** The micro-batch on the device: augmented, mixed up, its drop-path seed derived from its place in the run. */
    private FinetuneBatch batch(NDManager sm, MicroBatch mb) {
        long seed = plan.config().seed();
        SplittableRandom rng = new SplittableRandom(Seeds.mix(BATCH_TAG, seed, mb.epoch(), mb.slot(),
                mb.stepInEpoch()));
        long dropSeed = Seeds.mix(DROP_PATH_TAG, seed, mb.epoch(), mb.slot(), mb.stepInEpoch());
        FinetuneBatch batch;
        if (mb.labels().get(0).isCategorical()) {
            long[] y = mb.labels().stream().mapToLong(ClipEntry::category).toArray();
            batch = assembler.train(sm, mb.frames(), mb.pcm(), y, rng, dropSeed);
        } else {
            float[][] y = mb.labels().stream().map(ClipEntry::dimensions).toArray(float[][]::new);
            batch = assembler.trainRegression(sm, mb.frames(), mb.pcm(), y, rng, dropSeed);
        }
        return batch;
    }

    @Override
    public Map<String, Double> lossMap(float[] losses) {
        return Map.of("loss", (double) losses[0]);
    }

    /**
     * Every rank predicts its share of the validation views; the all-reduce (tagged apart from the training steps)
     * gives every rank all outputs, from which each computes the same per-video scores.
     */
    @Override
    public Map<String, Double> endOfEpoch(int epoch, RingAllReduce ring) throws IOException {
        List<ClipEntry> views = plan.val();
        int world = env.worldSize();
        int q = trainer.options().task().outputs();
        float[] out = new float[views.size() * q];
        ClipPredictor.predict(trainer, assembler, valClips, views, env.rank(), world, plan.config().batchSize(), out);
        ring.allReduceMean(out, -1L - epoch);
        for (int i = 0; i < out.length; i++) {
            out[i] *= world; // each slot was written by exactly one rank: the mean is value / world
        }
        return ClipPredictor.scalars(ClipPredictor.report(plan.space(),
                ClipPredictor.average(trainer.options().task(), views, out)), "val_");
    }

    @Override
    public void close() throws IOException {
        try (FinetuneTrainer t = trainer; PlannedClipReader a = trainClips; PlannedClipReader v = valClips) {
            prefetch.close(); // its thread reads trainClips: it stops first
            // then closes all three, the first error first
        }
    }
}
