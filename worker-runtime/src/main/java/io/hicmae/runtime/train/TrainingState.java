package io.hicmae.runtime.train;

import ai.djl.ndarray.NDArray;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.nn.HicmaeBlock;
import io.hicmae.runtime.optim.AdamW;

import java.util.Map;

/**
 * Everything needed to resume training bit-exactly on one process: parameters by authors' key, AdamW moments
 * ("m."/"v." + key) and the optimiser step. Data order and masks derive from (seed, step), so no RNG state is kept.
 *
 * @param parameters the model's parameters
 * @param moments the optimiser's first and second moments
 * @param step optimiser steps taken
 */
public record TrainingState(Map<String, NDArray> parameters, Map<String, NDArray> moments, long step) {

    /**
     * Copies this state into a model and its optimiser; every key and shape is checked before anything changes, so a
     * bad file never leaves a half-restored trainer.
     *
     * @param origin names the state in error messages (a file or checkpoint URI)
     */
    public void restoreInto(HicmaeBlock model, AdamW optimizer, String origin) {
        Map<String, NDArray> live = optimizer.moments();
        for (Map.Entry<String, NDArray> e : live.entrySet()) {
            NDArray src = moments.get(e.getKey());
            if (src == null || !src.getShape().equals(e.getValue().getShape())) {
                throw new IllegalArgumentException(origin + ": optimiser state " + e.getKey()
                        + (src == null ? " is missing" : " has shape " + src.getShape() + ", expected "
                                + e.getValue().getShape()));
            }
        }
        Autograd.untracked(() -> {
            StateDict.load(model, parameters, origin, true);
            for (Map.Entry<String, NDArray> e : live.entrySet()) {
                e.getValue().set(moments.get(e.getKey()).toByteBuffer());
            }
        });
        optimizer.setStepCount(step);
    }
}
