package io.hicmae.driver.pretrain;

import java.io.Serializable;

/**
 * What every rank of one barrier-stage attempt needs, fixed on the driver: the validated config, the run, the
 * step arithmetic, the job secret (never logged; {@link #toString()} hides it) and where to report progress.
 *
 * @param config the job's validated configuration
 * @param runId the run whose checkpoints the ranks resume from and write to
 * @param secret per-job secret every peer must prove before tensors flow
 * @param stepsPerEpoch optimiser steps per epoch, equal on every rank
 * @param totalSteps steps of the whole run
 * @param warmupSteps linear warm-up steps
 * @param attempt 1 for the first submission, then 2, 3, ... for the driver's retries
 * @param progressHost the driver's progress listener host, or null for none
 * @param progressPort its port
 * @param fault a failure to inject (tests only), or null
 */
public record TrainingPlan(PretrainConfig config, String runId, byte[] secret, long stepsPerEpoch, long totalSteps,
        long warmupSteps, int attempt, String progressHost, int progressPort, Fault fault) implements Serializable {

    private static final long serialVersionUID = 1L;

    /**
     * A rank that throws when it reaches a step, on one attempt only: how tests show that a failed stage is
     * retried and resumes from the last checkpoint.
     *
     * @param rank the rank that fails
     * @param step the step at which it fails (before computing it)
     * @param attempt the attempt on which it fails
     */
    public record Fault(int rank, long step, int attempt) implements Serializable {
        private static final long serialVersionUID = 1L;
    }

    public TrainingPlan withAttempt(int next) {
        return new TrainingPlan(config, runId, secret, stepsPerEpoch, totalSteps, warmupSteps, next, progressHost,
                progressPort, fault);
    }

    @Override
    public String toString() {
        return "TrainingPlan[run " + runId + ", attempt " + attempt + ", " + totalSteps + " steps (" + stepsPerEpoch
                + "/epoch, warm-up " + warmupSteps + "), secret <hidden>]";
    }
}
