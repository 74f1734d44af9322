package io.hicmae.runtime.finetune;

import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.optim.LrSchedule;

/**
 * The settings of one fine-tuning run, as an executor receives them (the driver's typed config parses user input and
 * builds this). {@link #recipe} gives the authors' fine-tuning recipe (spec §11.2); {@link #linearProbe} the probe
 * of a frozen backbone.
 *
 * @param task classification with Q classes or regression with D dimensions
 * @param baseLr lr per 256 clips (upstream 1e-3); the peak lr is baseLr x globalBatch / 256
 * @param minLr final lr per 256 clips (upstream 1e-6)
 * @param warmupSteps linear warm-up from 0, in optimiser steps (upstream: 5 epochs)
 * @param totalSteps all optimiser steps of the run
 * @param globalBatch clips per step summed over all ranks
 * @param adamw betas, eps and weight decay (upstream 0.9, 0.999, 1e-8, 0.05)
 * @param layerDecay layer-wise lr decay (upstream 0.75; 1 turns it off)
 * @param dropPath stochastic depth of the deepest block (upstream 0.1)
 * @param smoothing label smoothing of the soft targets (upstream 0.1; regression 0)
 * @param mixup mixup/cutmix on the video tensor (upstream timm defaults; regression off)
 * @param linearProbe train only {@code head} on the frozen backbone (see {@link FinetuneTrainer})
 */
public record FinetuneOptions(Task task, double baseLr, double minLr, long warmupSteps, long totalSteps,
        long globalBatch, AdamW.Settings adamw, double layerDecay, float dropPath, float smoothing,
        Mixup.Settings mixup, boolean linearProbe) {

    public FinetuneOptions {
        if (task == null || adamw == null || mixup == null) {
            throw new IllegalArgumentException("Invalid value null for configuration "
                    + (task == null ? "task" : adamw == null ? "adamw" : "mixup") + ": must be given");
        }
        if (!(baseLr > 0)) {
            throw invalid("lr", baseLr, "must be positive");
        }
        if (!(minLr >= 0 && minLr <= baseLr)) {
            throw invalid("min-lr", minLr, "must be between 0 and lr " + baseLr);
        }
        if (globalBatch < 1) {
            throw invalid("batch-size", globalBatch, "the global batch must be at least 1");
        }
        new LrSchedule(1, 0, 0, warmupSteps, totalSteps); // validates warmup-steps and total-steps
        if (!(layerDecay > 0 && layerDecay <= 1)) {
            throw invalid("layer-decay", layerDecay, "must be in (0, 1]");
        }
        if (!(dropPath >= 0 && dropPath < 1)) {
            throw invalid("drop-path", dropPath, "must be in [0, 1)");
        }
        if (!(smoothing >= 0 && smoothing < 1)) {
            throw invalid("smoothing", smoothing, "must be in [0, 1)");
        }
        if (!task.isClassification() && mixup.enabled()) {
            throw invalid("mixup", mixup.mixupAlpha() + "/" + mixup.cutmixAlpha(),
                    "regression mixes no targets (upstream's regression script has no mixup); set mixup and cutmix to 0");
        }
        if (!task.isClassification() && smoothing != 0) {
            throw invalid("smoothing", smoothing, "regression has no label smoothing; set it to 0");
        }
        if (linearProbe && dropPath != 0) {
            throw invalid("drop-path", dropPath, "the linear probe runs the frozen backbone without stochastic depth; "
                    + "set it to 0");
        }
    }

    /**
     * The authors' fine-tuning recipe for {@code task}: lr 1e-3 and min lr 1e-6 per 256, AdamW (0.9, 0.999, 1e-8,
     * 0.05), layer decay 0.75, drop path 0.1; classification adds label smoothing 0.1 and mixup 0.8 / cutmix 1.0
     * (prob 1, switch 0.5), regression has neither.
     */
    public static FinetuneOptions recipe(Task task, long warmupSteps, long totalSteps, long globalBatch) {
        boolean cls = task != null && task.isClassification();
        return new FinetuneOptions(task, 1e-3, 1e-6, warmupSteps, totalSteps, globalBatch,
                AdamW.Settings.finetuning(), 0.75, 0.1f, cls ? 0.1f : 0f,
                cls ? Mixup.Settings.upstream() : Mixup.Settings.off(), false);
    }

    /**
     * A linear probe: only {@code head} is trained, by AdamW (0.9, 0.999, 1e-8) without weight decay, on clean
     * targets (no mixup, no smoothing), with the given lr per 256 and min lr 0.
     */
    public static FinetuneOptions linearProbe(Task task, double baseLr, long warmupSteps, long totalSteps,
            long globalBatch) {
        return new FinetuneOptions(task, baseLr, 0, warmupSteps, totalSteps, globalBatch,
                new AdamW.Settings(0.9, 0.999, 1e-8, 0), 1.0, 0f, 0f, Mixup.Settings.off(), true);
    }

    /** The per-step schedule (before the per-parameter layer-decay scale). */
    public LrSchedule schedule() {
        return new LrSchedule(LrSchedule.scaleByBatch(baseLr, globalBatch), LrSchedule.scaleByBatch(minLr, globalBatch),
                0.0, warmupSteps, totalSteps);
    }

    private static IllegalArgumentException invalid(String key, Object value, String reason) {
        return new IllegalArgumentException("Invalid value " + value + " for configuration " + key + ": " + reason);
    }
}
