package io.hicmae.driver.finetune;

import io.hicmae.driver.pretrain.TrainingPlan;
import io.hicmae.runtime.data.LabelSpace;
import io.hicmae.runtime.finetune.FinetuneOptions;
import io.hicmae.runtime.optim.AdamW;

import java.io.Serializable;
import java.util.List;

/**
 * What every rank of one fine-tuning attempt needs, fixed on the driver: the config, the run, the parent version to
 * start from, the model sizes, the task, the clips to train and validate on, the step arithmetic, the job secret
 * (never logged) and where to report progress.
 *
 * @param config the validated configuration
 * @param runId the run whose checkpoints the ranks resume from and write to
 * @param parent the pre-trained version, {@code name:v000001}
 * @param modelConfigJson the parent's {@code config.json}
 * @param kind categorical or dimensional
 * @param names the class or dimension names
 * @param train the training clips
 * @param val the validation views (clips of each video to average)
 * @param stepsPerEpoch optimiser steps per epoch, equal on every rank
 * @param totalSteps steps of the run
 * @param warmupSteps linear warm-up steps
 * @param attempt 1 for the first submission, then 2, 3, ...
 * @param progressHost the driver's progress listener, or null
 * @param progressPort its port
 * @param fault a failure to inject (tests only), or null
 */
record FinetunePlan(FinetuneConfig config, String runId, String parent, String modelConfigJson, LabelSpace.Kind kind,
        List<String> names, List<ClipEntry> train, List<ClipEntry> val, long stepsPerEpoch, long totalSteps,
        long warmupSteps, int attempt, String progressHost, int progressPort, TrainingPlan.Fault fault, byte[] secret)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    FinetunePlan {
        names = List.copyOf(names);
        train = List.copyOf(train);
        val = List.copyOf(val);
    }

    FinetunePlan withAttempt(int next) {
        return new FinetunePlan(config, runId, parent, modelConfigJson, kind, names, train, val, stepsPerEpoch,
                totalSteps, warmupSteps, next, progressHost, progressPort, fault, secret);
    }

    LabelSpace space() {
        return new LabelSpace(kind, names);
    }

    /** The runtime's options for this run. */
    FinetuneOptions options() {
        long global = (long) config.worldSize() * config.batchSize();
        return new FinetuneOptions(ClipPredictor.task(space()), config.lr(), config.minLr(), warmupSteps, totalSteps,
                global, new AdamW.Settings(config.beta1(), config.beta2(), 1e-8, config.weightDecay()),
                config.layerDecay(), (float) config.dropPath(), (float) config.smoothing(), config.mixup(),
                config.linearProbe());
    }

    @Override
    public String toString() {
        return "FinetunePlan[run " + runId + " from " + parent + ", attempt " + attempt + ", " + totalSteps
                + " steps (" + stepsPerEpoch + "/epoch), " + train.size() + " training clips, " + val.size()
                + " validation clips, secret <hidden>]";
    }
}
