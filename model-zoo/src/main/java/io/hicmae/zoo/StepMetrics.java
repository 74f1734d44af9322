package io.hicmae.zoo;

import java.util.Map;
import java.util.TreeMap;

/**
 * The losses logged at one training step.
 *
 * @param step the optimiser step
 * @param losses loss name to value, e.g. {@code loss}, {@code recon_loss}, {@code contrastive_loss}
 */
public record StepMetrics(long step, Map<String, Double> losses) {
    public StepMetrics {
        losses = java.util.Collections.unmodifiableSortedMap(new TreeMap<>(losses));
    }
}
