package io.hicmae.runtime.golden;

/**
 * The outcome of comparing one array with its reference.
 *
 * @param name the reference key
 * @param passed whether it is within tolerance
 * @param detail max abs diff and the tolerance, or why it could not be compared
 */
public record Check(String name, boolean passed, String detail) {

    @Override
    public String toString() {
        return (passed ? "ok   " : "FAIL ") + name + ": " + detail;
    }
}
