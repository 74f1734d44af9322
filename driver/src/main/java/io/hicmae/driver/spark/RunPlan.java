package io.hicmae.driver.spark;

import java.io.Serializable;

/**
 * What every rank of one barrier-stage attempt of a training job needs about the run, fixed on the driver: the run,
 * the step arithmetic, the attempt, the job secret (never logged; {@link #toString()} hides it) and where to report
 * progress. Each job's plan ({@link TrainingSpec}) carries one.
 *
 * @param runId the run whose checkpoints the ranks resume from and write to
 * @param secret per-job secret every peer must prove before tensors flow
 * @param batch the global batch as micro-batches (the same on any world size)
 * @param stepsPerEpoch optimiser steps per epoch: floor(clips / global batch)
 * @param totalSteps steps of the whole run
 * @param warmupSteps linear warm-up steps
 * @param attempt 1 for the first submission, then 2, 3, ... for the driver's resubmissions
 * @param worldSize ranks of this attempt (elastic runs resize between attempts)
 * @param progressHost the driver's progress listener host, or null for none
 * @param progressPort its port
 * @param fault a failure to inject (tests only), or null
 */
public record RunPlan(String runId, byte[] secret, GlobalBatch batch, long stepsPerEpoch, long totalSteps,
        long warmupSteps, int attempt, int worldSize, String progressHost, int progressPort, Fault fault) implements Serializable {

    private static final long serialVersionUID = 1L;

    /**
     * A rank that throws (or is preempted) when it reaches a step, on one attempt only: how tests show that a failed
     * stage is retried, and a preempted one stopped, from the last checkpoint.
     *
     * @param rank the rank that fails
     * @param step the step at which it fails (before computing it)
     * @param attempt the attempt on which it fails
     * @param preempt true: the rank's executor is told to leave (as by SIGTERM) instead of throwing
     */
    public record Fault(int rank, long step, int attempt, boolean preempt) implements Serializable {
        private static final long serialVersionUID = 1L;

        /** A rank that throws. */
        public Fault(int rank, long step, int attempt) {
            this(rank, step, attempt, false);
        }
    }

    /** The same plan for attempt {@code next} on {@code ranks} ranks. */
    public RunPlan forAttempt(int next, int ranks) {
        return new RunPlan(runId, secret, batch, stepsPerEpoch, totalSteps, warmupSteps, next, ranks, progressHost,
                progressPort, fault);
    }

    /** The epoch of a step (0-based step index). */
    public int epochOf(long step) {
        return Math.toIntExact(step / stepsPerEpoch);
    }

    @Override
    public String toString() {
        return "RunPlan[run " + runId + ", attempt " + attempt + " on " + worldSize + " rank(s), " + totalSteps
                + " steps (" + stepsPerEpoch + "/epoch, warm-up " + warmupSteps + ") of " + batch.microBatches() + " x " + batch.microBatch()
                + " clips, secret <hidden>]";
    }
}
