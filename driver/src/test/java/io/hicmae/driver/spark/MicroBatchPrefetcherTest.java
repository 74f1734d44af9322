package io.hicmae.driver.spark;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The background reads of a rank's micro-batches: order, seek, failures, deadline. */
class MicroBatchPrefetcherTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    @Test
    void servesEveryStepsMicroBatchesInOrderFromTheSeekPositionOnOneThread() throws Exception {
        Set<String> threads = ConcurrentHashMap.newKeySet();
        try (MicroBatchPrefetcher<String> p = new MicroBatchPrefetcher<>("t", (step, part) -> {
            threads.add(Thread.currentThread().getName());
            return step + "." + part;
        }, 3, 5, 2)) {
            p.seek(2);
            List<String> got = new ArrayList<>();
            for (long step = 2; step < 5; step++) {
                for (int k = 0; k < 3; k++) {
                    got.add(p.next(step, WAIT));
                }
            }
            assertEquals(List.of("2.0", "2.1", "2.2", "3.0", "3.1", "3.2", "4.0", "4.1", "4.2"), got);
            assertEquals(Set.of("t-prefetch"), threads);
            p.seek(0);
            assertEquals("0.0", p.next(0, WAIT));
            assertThrows(IllegalStateException.class, () -> p.next(3, WAIT), "not the next step");
        }
    }

    @Test
    void aFailedReadIsReportedWhereItsMicroBatchWouldBe() throws Exception {
        try (MicroBatchPrefetcher<String> p = new MicroBatchPrefetcher<>("t", (step, part) -> {
            if (step == 1 && part == 1) {
                throw new IOException("shard gone");
            }
            return step + "." + part;
        }, 2, 4, 8)) {
            p.seek(0);
            assertEquals("0.0", p.next(0, WAIT));
            assertEquals("0.1", p.next(0, WAIT));
            assertEquals("1.0", p.next(1, WAIT));
            IOException e = assertThrows(IOException.class, () -> p.next(1, WAIT));
            assertEquals("shard gone", e.getMessage());
        }
    }

    @Test
    void aSlowReadFailsTheWaitAfterItsDeadlineAndCloseStopsTheThread() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        MicroBatchPrefetcher<String> p = new MicroBatchPrefetcher<>("slow", (step, part) -> {
            try {
                never.await();
            } catch (InterruptedException e) {
                throw new java.io.InterruptedIOException("closed");
            }
            return "late";
        }, 1, 10, 1);
        p.seek(0);
        IOException e = assertThrows(IOException.class, () -> p.next(0, Duration.ofMillis(200)));
        assertTrue(e.getMessage().contains("no micro-batch of step 0 within"), e.getMessage());
        p.close();
        assertTrue(Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().equals("slow-prefetch") && t.isAlive()), "thread stopped");
    }
}
