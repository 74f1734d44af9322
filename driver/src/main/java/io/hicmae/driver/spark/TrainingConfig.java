package io.hicmae.driver.spark;

import java.io.Serializable;
import java.util.Map;

/**
 * The settings every training job's typed config has, as the shared loop and the resume check read them (the keys
 * of {@link StageKeys} and the job's batch-size, seed, zoo and checkpoint-every).
 */
public interface TrainingConfig extends Serializable {

    /** The values in force, by key. */
    Map<String, Object> values();

    /** The stage's settings. */
    BarrierStage.Settings stage();

    /** The model zoo holding the run's checkpoints. */
    String zoo();

    /** Clips per forward pass (batch-size). */
    int batchSize();

    /** The run's seed. */
    long seed();

    /** Steps between checkpoints. */
    int checkpointEvery();
}
