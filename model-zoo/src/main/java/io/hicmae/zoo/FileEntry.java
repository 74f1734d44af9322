package io.hicmae.zoo;

/**
 * One file of a version.
 *
 * @param name its name relative to the version directory
 * @param size its length in bytes
 * @param sha256 its SHA256SUMS entry
 */
public record FileEntry(String name, long size, String sha256) {}
