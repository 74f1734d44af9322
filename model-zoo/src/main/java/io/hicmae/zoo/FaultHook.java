package io.hicmae.zoo;

import java.io.IOException;

/** A test seam called at each step of a commit, so tests can fail a publisher there. No-op in production. */
@FunctionalInterface
interface FaultHook {
    FaultHook NONE = (step, detail) -> {};

    /** Steps in the order a commit reaches them. */
    enum Step {
        /** A version number was claimed (versions only). */
        CLAIMED,
        /** One file was written; the detail is its name. */
        FILE_WRITTEN,
        BEFORE_CHECKSUMS,
        AFTER_CHECKSUMS,
        BEFORE_COMMIT,
        AFTER_COMMIT
    }

    void at(Step step, String detail) throws IOException;
}
