package io.hicmae.zoo;

import java.net.URI;

/**
 * A version or alias of a model whose commit marker, metadata or alias record cannot be read. The zoo lists it with
 * the reason and otherwise ignores it, so one bad file never blocks the other versions and models; {@code gc} deletes
 * it (see {@link GcPlan.Reason#CORRUPT}).
 *
 * @param model the model name
 * @param kind whether a version or an alias is corrupt
 * @param name the version id ({@code v000003}) or the alias name
 * @param location the URI of the unreadable file
 * @param reason why it cannot be read
 */
public record CorruptEntry(String model, Kind kind, String name, URI location, String reason) {
    /** What is corrupt. */
    public enum Kind {
        VERSION,
        ALIAS
    }

    /** {@code model:v000003} or {@code model@alias}. */
    public String ref() {
        return model + (kind == Kind.VERSION ? ":" : "@") + name;
    }
}
