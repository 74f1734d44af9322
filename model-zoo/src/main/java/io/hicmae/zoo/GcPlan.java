package io.hicmae.zoo;

import java.net.URI;
import java.util.List;

/**
 * What gc deletes (or, on a dry run, would delete).
 *
 * @param items each directory or file, in the order gc visits them
 * @param executed false for a dry run
 */
public record GcPlan(List<Item> items, boolean executed) {
    public GcPlan {
        items = List.copyOf(items);
    }

    /** Why gc deletes something. */
    public enum Reason {
        /** A committed version beyond the newest N that no alias points at. */
        OLD_VERSION,
        /** A version or checkpoint directory without its commit marker, older than the grace period. */
        UNCOMMITTED,
        /** A staging directory older than the grace period: its publisher died before the rename. */
        STALE_STAGING,
        /** A version-number claim with no version directory, older than the grace period. */
        STALE_CLAIM,
        /** A temporary file of an alias move or exclusive create, older than the grace period. */
        STALE_TEMP,
        /**
         * A version, alias or checkpoint whose commit marker, metadata or alias record cannot be read
         * ({@link CorruptEntry}); deleted at once, since a commit never leaves one behind, even for a moment.
         */
        CORRUPT,
        /** An alias move record superseded by a newer move, older than the grace period. */
        OLD_ALIAS_MOVE
    }

    /**
     * One thing to delete.
     *
     * @param reason why
     * @param location its URI
     * @param detail the model or run it belongs to, and what it is
     */
    public record Item(Reason reason, URI location, String detail) {}
}
