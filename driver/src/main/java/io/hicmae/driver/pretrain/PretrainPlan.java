package io.hicmae.driver.pretrain;

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
    public io.hicmae.runtime.allreduce.WireDtype allReduceDtype() {
        return config.allReduceDtype();
    }

    @Override
    public boolean checkpointEveryEpoch() {
        return false;
    }

    @Override
    public Map<String, String> checkpointMetadata() {
        return Map.of("run", run.runId(), "preset", config.modelConfig().name());
    }

    @Override
    public PretrainPlan forAttempt(int attempt, int worldSize) {
        return new PretrainPlan(config, run.forAttempt(attempt, worldSize));
    }

    @Override
    public RankStep<?> open(RankEnv env) throws IOException {
        return PretrainStep.open(this, env);
    }
}
