package io.hicmae.driver.spark;

import io.hicmae.driver.config.StepKeys;
import io.hicmae.runtime.allreduce.WireDtype;

import java.io.Serializable;
import java.util.Map;

/**
 * The settings every training job's typed config has, as the shared loop and the resume check read them: the keys
 * of {@link StageKeys} and {@link StepKeys}, and the keys below, which every job defines with its own defaults.
 */
public interface TrainingConfig extends Serializable {

    String ZOO = "zoo";
    String EPOCHS = "epochs";
    String BATCH_SIZE = "batch-size";
    String MAX_STEPS = "max-steps";
    String LR = "lr";
    String MIN_LR = "min-lr";
    String WARMUP_EPOCHS = "warmup-epochs";
    String WEIGHT_DECAY = "weight-decay";
    String BETA1 = "beta1";
    String BETA2 = "beta2";
    String SEED = "seed";
    String CHECKPOINT_EVERY = "checkpoint-every";

    /** The values in force, by key. */
    Map<String, Object> values();

    /** The stage's settings. */
    BarrierStage.Settings stage();

    /** Ranks of the stage (world-size). */
    default int worldSize() {
        return stage().worldSize();
    }

    /** How gradients travel between ranks ({@code allreduce-dtype}: fp32, the default, or bf16). */
    default WireDtype allReduceDtype() {
        return StageKeys.wireDtype(values());
    }

    /** Precision and the non-finite limit of the post-reduce step. */
    default StepKeys.Settings step() {
        return StepKeys.settings(values());
    }

    /** The model zoo holding the run's checkpoints. */
    default String zoo() {
        return (String) values().get(ZOO);
    }

    /** Clips per forward pass (batch-size). */
    default int batchSize() {
        return (Integer) values().get(BATCH_SIZE);
    }

    default int epochs() {
        return (Integer) values().get(EPOCHS);
    }

    /** Stop after this many steps in all (max-steps; 0: no limit). */
    default long maxSteps() {
        return (Long) values().get(MAX_STEPS);
    }

    default double lr() {
        return (Double) values().get(LR);
    }

    default double minLr() {
        return (Double) values().get(MIN_LR);
    }

    default double warmupEpochs() {
        return (Double) values().get(WARMUP_EPOCHS);
    }

    default double weightDecay() {
        return (Double) values().get(WEIGHT_DECAY);
    }

    default double beta1() {
        return (Double) values().get(BETA1);
    }

    default double beta2() {
        return (Double) values().get(BETA2);
    }

    /** The run's seed. */
    default long seed() {
        return (Long) values().get(SEED);
    }

    /** Steps between checkpoints. */
    default int checkpointEvery() {
        return (Integer) values().get(CHECKPOINT_EVERY);
    }
}
