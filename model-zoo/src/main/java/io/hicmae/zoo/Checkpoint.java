package io.hicmae.zoo;

import java.net.URI;
import java.time.Instant;
import java.util.List;

/**
 * One committed training checkpoint (the full state a run resumes from); never a published version.
 *
 * @param runId the run it belongs to
 * @param step the optimiser step it was taken at
 * @param location its directory's URI
 * @param committedAt when it was committed
 * @param files its file names, sorted
 */
public record Checkpoint(String runId, long step, URI location, Instant committedAt, List<String> files) {
    public Checkpoint {
        files = List.copyOf(files);
    }
}
