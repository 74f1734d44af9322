package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WaitsTest {
    @Test
    void returnsTheFirstValueThePollGives() {
        AtomicInteger polls = new AtomicInteger();

        int value = Waits.until("the third poll", Duration.ofSeconds(10),
                () -> polls.incrementAndGet() == 3 ? Optional.of(42) : Optional.empty(), () -> "");

        assertEquals(42, value);
        assertEquals(3, polls.get());
    }

    @Test
    void timeoutNamesTheWaitAndAddsTheDiagnostics() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Waits.until("the master URL",
                Duration.ofMillis(300), Optional::empty, () -> "\n--- master.log ---"));

        assertTrue(e.getMessage().startsWith("Timed out after 0.3 s waiting for the master URL"), e.getMessage());
        assertTrue(e.getMessage().endsWith("--- master.log ---"), e.getMessage());
    }

    @Test
    void aFailingPollEndsTheWaitAtOnce() {
        IOException cause = new IOException("the process exited with code 1");

        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Waits.until("2 workers",
                Duration.ofMinutes(5), () -> {
                    throw cause;
                }, () -> " [log]"));

        assertSame(cause, e.getCause());
        assertEquals("Gave up waiting for 2 workers: the process exited with code 1 [log]", e.getMessage());
    }
}
