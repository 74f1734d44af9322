package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.loss.PretrainLoss;
import io.hicmae.runtime.model.HicmaePretrainModel;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.model.Trace;

/**
 * One rank's HiCMAE pre-training state and step: {@link #computeGradients} runs forward and backward on a batch and
 * leaves the gradients of every parameter in the trainer's gradient buffer (what the all-reduce syncs);
 * {@link #applyGradients} runs AdamW on that buffer, every parameter at the scheduled lr.
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
        super(new HicmaePretrainModel(config), device, seed, key -> true, options.adamw(), key -> 1.0,
                options.schedule(), options.clipGrad());
        this.config = config;
    }

    public HicmaeConfig config() {
        return config;
    }

    /**
     * Forward and backward on {@code batch}; the gradients, in parameter order, are left in {@link #gradients()}.
     * The batch's arrays must belong to {@code stepManager} (or one of its parents).
     */
    public StepLosses computeGradients(NDManager stepManager, PretrainBatch batch) {
        long t0 = System.nanoTime();
        PretrainLoss loss = recordForward(
                () -> PretrainLoss.compute(config, batch, model.forward(store, batch, true, Trace.OFF)));
        long t1 = System.nanoTime();
        backward(loss.total());
        collectGradients(stepManager);
        forwardNanos = t1 - t0;
        backwardNanos = System.nanoTime() - t1;
        return StepLosses.of(loss);
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
