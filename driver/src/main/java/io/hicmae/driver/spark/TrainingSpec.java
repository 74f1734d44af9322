package io.hicmae.driver.spark;

import java.io.IOException;
import java.io.Serializable;
import java.util.Map;

/**
 * A training job as the shared rank loop ({@link TrainingRankTask}) runs it: fixed on the driver, shipped to every
 * rank of an attempt. The loop owns everything jobs share (rendezvous, device, resume, the micro-batches of a step,
 * the all-reduce, the post-reduce update, checkpoints, progress); the job supplies its {@link RankStep}.
 */
public interface TrainingSpec extends Serializable {

    /** The run, its step arithmetic and this attempt. */
    RunPlan run();

    /** The stage's settings: world size, device, deadlines. */
    BarrierStage.Settings stage();

    /** How gradients travel between ranks ({@code allreduce-dtype}); fp32 unless the job says otherwise. */
    default io.hicmae.runtime.allreduce.WireDtype allReduceDtype() {
        return io.hicmae.runtime.allreduce.WireDtype.FP32;
    }

    /** The model zoo holding the run's checkpoints. */
    String zoo();

    /** Steps between checkpoints (the last step is always checkpointed). */
    int checkpointEvery();

    /** Whether every epoch's last step is checkpointed as well (fine-tuning: after its validation). */
    boolean checkpointEveryEpoch();

    /** Clips one rank runs per forward pass (batch-size). */
    int microBatch();

    /** Metadata stored with each checkpoint's state (e.g. the preset or the parent version). */
    Map<String, String> checkpointMetadata();

    /** The same spec for attempt {@code attempt}. */
    TrainingSpec withAttempt(int attempt);

    /**
     * Builds this rank's step: its trainer on {@code env.device()} (initialised as the job starts, e.g. from a
     * parent version) and its data. The loop restores the run's checkpoint into the trainer afterwards.
     */
    RankStep<?> open(RankEnv env) throws IOException;
}
