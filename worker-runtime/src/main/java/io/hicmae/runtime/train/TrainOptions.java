package io.hicmae.runtime.train;

import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.optim.LrSchedule;

/**
 * The optimisation settings of one pre-training run, as an executor receives them (the driver's typed config
 * validates user input and builds this).
 *
 * @param baseLr lr per 256 clips (upstream 3e-4); the peak lr is baseLr x globalBatch / 256
 * @param minLr final lr per 256 clips (upstream 1e-5)
 * @param warmupSteps linear warm-up from 0, in optimiser steps
 * @param totalSteps all optimiser steps of the run
 * @param globalBatch clips per step summed over all ranks
 * @param clipGrad max global gradient L2 norm, or 0 for no clipping (upstream: none)
 * @param adamw betas, eps and weight decay
 */
public record TrainOptions(double baseLr, double minLr, long warmupSteps, long totalSteps, long globalBatch,
        double clipGrad, AdamW.Settings adamw) {

    public TrainOptions {
        if (!(baseLr > 0)) {
            throw new IllegalArgumentException("Invalid value " + baseLr + " for configuration lr: must be positive");
        }
        if (!(minLr >= 0 && minLr <= baseLr)) {
            throw new IllegalArgumentException(
                    "Invalid value " + minLr + " for configuration min-lr: must be between 0 and lr " + baseLr);
        }
        if (globalBatch < 1) {
            throw new IllegalArgumentException(
                    "Invalid value " + globalBatch + " for configuration global batch: must be at least 1");
        }
        if (!(clipGrad >= 0)) {
            throw new IllegalArgumentException(
                    "Invalid value " + clipGrad + " for configuration clip-grad: must be 0 (off) or positive");
        }
    }

    /** The per-step schedule these options give. */
    public LrSchedule schedule() {
        return new LrSchedule(LrSchedule.scaleByBatch(baseLr, globalBatch), LrSchedule.scaleByBatch(minLr, globalBatch),
                0.0, warmupSteps, totalSteps);
    }
}
