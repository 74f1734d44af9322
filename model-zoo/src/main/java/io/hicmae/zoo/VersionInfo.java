package io.hicmae.zoo;

import java.net.URI;
import java.time.Instant;
import java.util.List;

/**
 * One committed version of a model.
 *
 * @param model the model name
 * @param version the version id, {@code v000003}
 * @param number the version number, 3
 * @param location the version directory's URI
 * @param committedAt when its publisher committed it
 * @param digest the SHA-256 of its SHA256SUMS: the identity of its content, and its pull cache key
 * @param aliases the aliases pointing at it, sorted ({@code latest} included for the newest)
 */
public record VersionInfo(
        String model, String version, int number, URI location, Instant committedAt, String digest,
        List<String> aliases) {
    public VersionInfo {
        aliases = List.copyOf(aliases);
    }

    /** The reference {@code model:version}. */
    public ModelRef ref() {
        return ModelRef.ofVersion(model, number);
    }
}
