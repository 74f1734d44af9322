package io.hicmae.runtime.train;

import ai.djl.ndarray.NDArray;

import java.util.Map;

/**
 * Everything needed to resume training bit-exactly on one process: parameters by authors' key, AdamW moments
 * ("m."/"v." + key) and the optimiser step. Data order and masks derive from (seed, step), so no RNG state is kept.
 *
 * @param parameters the model's parameters
 * @param moments the optimiser's first and second moments
 * @param step optimiser steps taken
 */
public record TrainingState(Map<String, NDArray> parameters, Map<String, NDArray> moments, long step) {}
