package io.hicmae.runtime.model;

import ai.djl.ndarray.NDArray;

import java.util.List;

/**
 * What the pre-training model returns to the losses.
 *
 * @param videoPrediction (B, Nm, 3*t*p*p) reconstructions of the masked video tokens, ascending order
 * @param audioPrediction (B, Km, p_a^2)
 * @param videoLayers the exported video-encoder layers, normed, visible tokens: each (B, Nv, C)
 * @param audioLayers the exported audio-encoder layers: each (B, Kv, C)
 */
public record PretrainOutput(
        NDArray videoPrediction, NDArray audioPrediction, List<NDArray> videoLayers, List<NDArray> audioLayers) {}
