package io.hicmae.zoo;

/**
 * How a new version (or run checkpoint) becomes visible. Both modes write a {@code _COMMITTED} marker last, and
 * readers only see directories that hold one; they differ in where the files are written first.
 */
public enum CommitMode {
    /**
     * Files are written under a hidden staging directory, which is renamed into place: one atomic operation on HDFS
     * and on a local directory, so a partial version is never even listed.
     */
    RENAME,
    /**
     * Files are written in place and the {@code _COMMITTED} marker is written last. For object stores (S3), where
     * rename is a copy; a version without its marker is invisible and gc removes it after the grace period.
     */
    MARKER
}
