package io.hicmae.zoo;

import java.util.List;

/**
 * A version with its files and lineage, as {@code zoo show} prints it.
 *
 * @param info the version
 * @param files its files in SHA256SUMS order
 * @param metadata its metadata.json
 */
public record VersionDetails(VersionInfo info, List<FileEntry> files, VersionMetadata metadata) {
    public VersionDetails {
        files = List.copyOf(files);
    }
}
