package io.hicmae.driver.pretrain;

import io.hicmae.driver.spark.BarrierStage;
import io.hicmae.driver.spark.RankEnv;
import io.hicmae.driver.spark.RankStep;
import io.hicmae.driver.spark.RunPlan;
import io.hicmae.driver.spark.TrainingSpec;

import java.io.IOException;
import java.util.Map;

/**
 * A pre-training run as the shared rank loop runs it: the validated config and the run's plan; each rank's step is
 * a {@link PretrainStep}.
 *
 * @param config the job's validated configuration
 * @param run the run, its step arithmetic and the attempt
 */
record PretrainPlan(PretrainConfig config, RunPlan run) implements TrainingSpec {

    private static final long serialVersionUID = 1L;

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
        return false;
    }

    @Override
    public int microBatch() {
        return config.batchSize();
    }

    @Override
    public Map<String, String> checkpointMetadata() {
        return Map.of("run", run.runId(), "preset", config.modelConfig().name());
    }

    @Override
    public PretrainPlan withAttempt(int attempt) {
        return new PretrainPlan(config, run.withAttempt(attempt));
    }

    @Override
    public RankStep<?> open(RankEnv env) throws IOException {
        return PretrainStep.open(this, env);
    }
}
