package io.hicmae.driver.spark;

import java.io.Serializable;

/**
 * What every rank of one barrier-stage attempt of a training job needs about the run, fixed on the driver: the run,
 * the step arithmetic, the attempt, the job secret (never logged; {@link #toString()} hides it) and where to report
 * progress. Each job's plan ({@link TrainingSpec}) carries one.
 *
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
public record RunPlan(String runId, byte[] secret, long stepsPerEpoch, long totalSteps, long warmupSteps, int attempt,
        String progressHost, int progressPort, Fault fault) implements Serializable {

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

    /** The same plan for attempt {@code next}. */
    public RunPlan withAttempt(int next) {
        return new RunPlan(runId, secret, stepsPerEpoch, totalSteps, warmupSteps, next, progressHost, progressPort,
                fault);
    }

    /** The epoch of a step (0-based step index). */
    public int epochOf(long step) {
        return Math.toIntExact(step / stepsPerEpoch);
    }

    @Override
    public String toString() {
        return "RunPlan[run " + runId + ", attempt " + attempt + ", " + totalSteps + " steps (" + stepsPerEpoch
                + "/epoch, warm-up " + warmupSteps + "), secret <hidden>]";
    }
}
