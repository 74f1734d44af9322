package io.hicmae.driver.spark;

import java.io.Serializable;
import java.util.Map;

/**
 * What a rank reports when its barrier task ends: the steps it ran, its last losses and a digest of its final
 * parameters (every rank must end with the same one).
 *
 * @param rank the rank
 * @param device the device it trained on (e.g. cpu(), gpu(0))
 * @param assignedGpu the GPU address Spark's resource scheduling gave the task, or null
 * @param resumedFrom the checkpoint step it started from (0 for a fresh run)
 * @param steps the step count it ended at
 * @param finalLosses its last step's loss terms
 * @param parameterDigest SHA-256 of its parameters in key order
 */
public record RankResult(int rank, String device, String assignedGpu, long resumedFrom, long steps, Map<String, Double> finalLosses,
        String parameterDigest) implements Serializable {

    private static final long serialVersionUID = 1L;
}
