package io.hicmae.zoo;

/** A file of a version does not match its SHA256SUMS entry, is missing, or is not covered by it. */
public final class ChecksumMismatchException extends ZooException {
    private final String file;

    public ChecksumMismatchException(String file, String message) {
        super(message);
        this.file = file;
    }

    /** The file's name relative to its version directory. */
    public String file() {
        return file;
    }
}
