package io.hicmae.it;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.function.Supplier;

/** Polling with a deadline: every wait of the harness goes through here. */
final class Waits {
    static final Duration POLL = Duration.ofMillis(100);

    /** A probe that may throw; an empty result means "not yet". */
    @FunctionalInterface
    interface Probe<T> {
        Optional<T> poll() throws Exception;
    }

    private Waits() {}

    /**
     * Polls {@code probe} until it returns a value or {@code timeout} passes.
     *
     * @param what what is awaited, for the error ("2 workers registered with spark://...")
     * @param diagnostics what to add to the error, such as a log tail; asked only on failure
     * @throws IllegalStateException on timeout, or when the probe throws
     */
    static <T> T until(String what, Duration timeout, Probe<T> probe, Supplier<String> diagnostics) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            Optional<T> value;
            try {
                value = probe.poll();
            } catch (Exception e) {
                throw new IllegalStateException("Gave up waiting for " + what + ": " + e.getMessage()
                        + diagnostics.get(), e);
            }
            if (value.isPresent()) {
                return value.get();
            }
            if (System.nanoTime() - deadline >= 0) {
                throw new IllegalStateException("Timed out after " + seconds(timeout) + " waiting for " + what
                        + diagnostics.get());
            }
            sleep(what);
        }
    }

    /** {@code 0.3 s}, {@code 120.0 s}. */
    static String seconds(Duration d) {
        return String.format(Locale.ROOT, "%.1f s", d.toMillis() / 1000.0);
    }

    private static void sleep(String what) {
        try {
            Thread.sleep(POLL.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for " + what, e);
        }
    }
}
