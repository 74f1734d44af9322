package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.loss.PretrainLoss;
import io.hicmae.runtime.model.BackwardCuts;
import io.hicmae.runtime.model.HicmaePretrainModel;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.model.Trace;


/**
 * One rank's HiCMAE pre-training state and step: {@link #computeGradients} runs forward and backward on a batch and
 * leaves the gradients of every parameter in the trainer's gradient buffer (what the all-reduce syncs);
 * {@link #applyGradients} runs AdamW on that buffer, every parameter at the scheduled lr.
 *
 * <p>The backward pass runs in stages, cut after every encoder block ({@link HicmaePretrainModel#cutOwners()}): first
 * the decoders, the fusion encoder and the contrastive loss terms, then the encoder blocks from the deepest. The
 * gradient buffer holds the parameters in that order, so that a bucketed all-reduce can start while the backward
 * pass still runs ({@link #forward}, {@link OverlappedUpdate#reduceDuringBackward}).
 */
public final class PretrainTrainer extends AbstractTrainer<HicmaePretrainModel> {

    private final HicmaeConfig config;
    private long forwardNanos;
    private long backwardNanos;

    /**
     * Builds the model on {@code device}, initialised from {@code seed} (the same seed gives the same weights on
     * every rank).
     */
    public PretrainTrainer(HicmaeConfig config, TrainOptions options, Device device, long seed) {
        this(new HicmaePretrainModel(config), options, device, seed);
    }

    private PretrainTrainer(HicmaePretrainModel model, TrainOptions options, Device device, long seed) {
        super(model, device, seed, key -> true, stagesOfCuts(model.cutOwners()), options.adamw(), key -> 1.0,
                options.schedule(), options.clipGrad());
        this.config = model.config();
    }

    public HicmaeConfig config() {
        return config;
    }

    /** A recorded forward pass: its loss terms, and its backward pass still to run. */
    public record Forward(StepLosses losses, PendingBackward backward) {}

    /**
     * The forward pass on {@code batch}, with gradient recording on; running the returned backward pass leaves the
     * gradients in {@link #gradients()}, each stage's as soon as it ends. The batch's arrays must belong to
     * {@code stepManager} (or a parent).
     */
    public Forward forward(NDManager stepManager, PretrainBatch batch) {
        BackwardCuts cuts = BackwardCuts.recording();
        PretrainLoss loss = recordForward(cuts, batch);
        return new Forward(StepLosses.of(loss), pendingBackward(loss.total(), cuts, stepManager));
    }

    /**
     * Forward and backward on {@code batch}; the gradients, in parameter order, are left in {@link #gradients()}.
     * The batch's arrays must belong to {@code stepManager} (or one of its parents).
     */
    public StepLosses computeGradients(NDManager stepManager, PretrainBatch batch) {
        long t0 = System.nanoTime();
        BackwardCuts cuts = BackwardCuts.recording();
        PretrainLoss loss = recordForward(cuts, batch);
        long t1 = System.nanoTime();
        backwardInStages(loss.total(), cuts, stepManager, null);
        forwardNanos = t1 - t0;
        backwardNanos = System.nanoTime() - t1;
        return StepLosses.of(loss);
    }

    private PretrainLoss recordForward(BackwardCuts cuts, PretrainBatch batch) {
        return recordForward(
                () -> PretrainLoss.compute(config, batch, model.forward(store, batch, true, Trace.OFF, cuts)));
    }

    /**
     * Wall time of the last {@link #computeGradients}'s forward pass and of its backward pass with the gradient
     * collection, in ns (on the CPU, where engine operations are synchronous, the split of the step; a GPU's
     * asynchronous kernels shift time between them).
     */
    public long[] lastSplitNanos() {
        return new long[] {forwardNanos, backwardNanos};
    }
}
