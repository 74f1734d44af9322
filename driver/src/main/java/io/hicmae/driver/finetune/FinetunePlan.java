package io.hicmae.driver.finetune;

import io.hicmae.driver.spark.BarrierStage;
import io.hicmae.driver.spark.RankEnv;
import io.hicmae.driver.spark.RankStep;
import io.hicmae.driver.spark.RunPlan;
import io.hicmae.driver.spark.TrainingSpec;
import io.hicmae.runtime.data.LabelSpace;
import io.hicmae.runtime.finetune.FinetuneOptions;
import io.hicmae.runtime.optim.AdamW;

import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * A fine-tuning run (one fold) as the shared rank loop runs it, fixed on the driver: the config, the run's plan, the
 * parent version to start from, the model sizes, the task and the clips to train and validate on; each rank's step
 * is a {@link FinetuneStep}.
 *
 * @param config the validated configuration
 * @param run the run, its step arithmetic and the attempt
 * @param parent the pre-trained version, {@code name:v000001}
 * @param modelConfigJson the parent's {@code config.json}
 * @param kind categorical or dimensional
 * @param names the class or dimension names
 * @param train the training clips
 * @param val the validation views (clips of each video to average)
 */
record FinetunePlan(FinetuneConfig config, RunPlan run, String parent, String modelConfigJson, LabelSpace.Kind kind,
        List<String> names, List<ClipEntry> train, List<ClipEntry> val) implements TrainingSpec {

    private static final long serialVersionUID = 1L;

    FinetunePlan {
        names = List.copyOf(names);
        train = List.copyOf(train);
        val = List.copyOf(val);
    }

    @Override
    public FinetunePlan withAttempt(int attempt) {
        return new FinetunePlan(config, run.withAttempt(attempt), parent, modelConfigJson, kind, names, train, val);
    }

    @Override
    public BarrierStage.Settings stage() {
        return config.stage();
    }

    @Override
    public io.hicmae.runtime.allreduce.WireDtype allReduceDtype() {
        return config.allReduceDtype();
    }

    @Override
    public String zoo() {
        return config.zoo();
    }

    @Override
    public int checkpointEvery() {
        return config.checkpointEvery();
    }

    @Override
    public boolean checkpointEveryEpoch() {
        return true;
    }

    @Override
    public int microBatch() {
        return config.batchSize();
    }

    @Override
    public Map<String, String> checkpointMetadata() {
        return Map.of("run", run.runId(), "parent", parent);
    }

    @Override
    public RankStep<?> open(RankEnv env) throws IOException {
        return FinetuneStep.open(this, env);
    }

    LabelSpace space() {
        return new LabelSpace(kind, names);
    }

    /** The runtime's options for this run. */
    FinetuneOptions options() {
        long global = (long) config.worldSize() * config.batchSize();
        return new FinetuneOptions(ClipPredictor.task(space()), config.lr(), config.minLr(), run.warmupSteps(),
                run.totalSteps(), global, new AdamW.Settings(config.beta1(), config.beta2(), 1e-8,
                        config.weightDecay()), config.layerDecay(), (float) config.dropPath(),
                (float) config.smoothing(), config.mixup(), config.linearProbe());
    }

    @Override
    public String toString() {
        return "FinetunePlan[" + run + " from " + parent + ", " + train.size() + " training clips, " + val.size()
                + " validation clips]";
    }
}
