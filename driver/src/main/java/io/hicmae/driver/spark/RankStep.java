package io.hicmae.driver.spark;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import io.hicmae.runtime.allreduce.RingAllReduce;
import io.hicmae.runtime.train.AbstractTrainer;
import io.hicmae.runtime.train.PendingBackward;

import java.io.IOException;
import java.util.Map;

/**
 * A job's part of one rank of the shared loop ({@link TrainingRankTask}): its trainer, its data, its forward and
 * backward, how its loss terms are named, and what it does at an epoch's end. The loop calls, per optimiser step,
 * {@link #next} then {@link #computeGradients} once per micro-batch of the rank's share, then all-reduces the
 * trainer's gradient buffer and updates; the job never touches the ring or the checkpoints except in
 * {@link #endOfEpoch}.
 *
 * @param <B> one micro-batch in host memory, as the job's data path prepares it
 */
public interface RankStep<B> extends AutoCloseable {

    /** The trainer whose gradient buffer the loop reduces and whose state it checkpoints and restores. */
    AbstractTrainer<?> trainer();

    /** Positions the data so that the next {@link #next} serves optimiser step {@code step} (resume). */
    void seek(long step) throws IOException;

    /** This rank's next micro-batch of step {@code step}, in host memory (the loop times the wait as data). */
    B next(long step) throws IOException;

    /**
     * Forward and backward of one micro-batch; its gradients are left in the trainer's buffer. The arrays live in
     * {@code stepManager}.
     *
     * @return the loss terms, in the job's fixed order ({@link #lossMap})
     */
    float[] computeGradients(NDManager stepManager, B batch, long step);

    /**
     * The forward pass of one micro-batch with its backward pass left to run, so that the loop can run the gradient
     * all-reduce beside it; null (the default) when the job's backward pass is one call, and the loop calls
     * {@link #computeGradients} instead. The arrays live in {@code stepManager}, which the loop closes after the
     * backward pass.
     */
    default Forward forward(NDManager stepManager, B batch, long step) {
        return null;
    }

    /** A micro-batch's loss terms (as {@link #computeGradients} returns them) and its backward pass, still to run. */
    record Forward(float[] losses, PendingBackward backward) {}

    /** The ids of a micro-batch's clips, in batch order, for the test-mode clip log ({@link ClipLog}); none by default. */
    default java.util.List<String> clipIds(B batch) {
        return java.util.List.of();
    }

    /** The loss terms by name, in order; the first is the optimised loss ("loss"). */
    Map<String, Double> lossMap(float[] losses);

    /** Writes the loss terms into a metrics line (by default the entries of {@link #lossMap}). */
    default void addLosses(JsonObject line, float[] losses) {
        lossMap(losses).forEach(line::addProperty);
    }

    /**
     * Called on every rank after the last step of {@code epoch} (and after the run's last step): e.g. validation.
     * May use the ring (tags below 0 are free for the job). Returns values for that step's metrics line and the
     * rank's final losses; none by default.
     */
    default Map<String, Double> endOfEpoch(int epoch, RingAllReduce ring) throws IOException {
        return Map.of();
    }

    @Override
    void close() throws IOException;
}
