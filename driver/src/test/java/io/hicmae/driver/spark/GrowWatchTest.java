package io.hicmae.driver.spark;

import io.hicmae.zoo.ModelZoo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntPredicate;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The driver's grow decision, its watch over the slots, and the request the ranks read. */
class GrowWatchTest {

    private static BarrierStage.Settings settings(int worldSize, int minWorldSize) {
        return new BarrierStage.Settings("pretrain", worldSize, "cpu", null, 3, Duration.ZERO, Duration.ofSeconds(1),
                Duration.ofSeconds(1), Duration.ofSeconds(1), PortRange.ANY, PortRange.ANY, null, minWorldSize, 1);
    }

    /** World sizes dividing 12 micro-batches. */
    private static final IntPredicate DIVIDES_12 = w -> 12 % w == 0;

    @Test
    void growsToTheLargestFittingSizeTheSlotsAllowUpToWorldSize() {
        BarrierStage.Settings s = settings(6, 2);
        assertEquals(2, GrowWatch.target(s, 2, 2, DIVIDES_12), "no new slot");
        assertEquals(3, GrowWatch.target(s, 2, 3, DIVIDES_12));
        assertEquals(4, GrowWatch.target(s, 2, 5, DIVIDES_12), "5 does not divide 12");
        assertEquals(6, GrowWatch.target(s, 3, 9, DIVIDES_12), "never above world-size");
        assertEquals(4, GrowWatch.target(s, 4, 5, DIVIDES_12), "nothing between 4 and 5 fits");
        assertEquals(4, GrowWatch.target(s, 4, 1, DIVIDES_12), "fewer slots: no shrink while running");
    }

    @Test
    void watchesOnlyAnElasticStageBelowWorldSize() {
        BarrierStage.Grow never = (a, f, t, w) -> { throw new AssertionError("no request expected"); };
        assertNull(GrowWatch.start(settings(4, 0), 1, 2, () -> 4, DIVIDES_12, never, 10), "not elastic");
        assertNull(GrowWatch.start(settings(4, 2), 1, 4, () -> 4, DIVIDES_12, never, 10), "at world-size");
    }

    @Test
    void publishesOncePerLargerSizeWhenSlotsComeBack() throws Exception {
        AtomicInteger slots = new AtomicInteger(2);
        List<String> requests = new CopyOnWriteArrayList<>();
        try (GrowWatch watch = GrowWatch.start(settings(6, 2), 5, 2, slots::get, DIVIDES_12,
                (a, f, t, why) -> requests.add(a + ":" + f + "->" + t + " " + why), 10)) {
            Thread.sleep(100);
            assertEquals(List.of(), requests);
            slots.set(3);
            await(() -> requests.size() == 1);
            Thread.sleep(100);
            slots.set(4);
            await(() -> requests.size() == 2);
            Thread.sleep(100);
            assertEquals(List.of("5:2->3 the cluster offers 3 task slot(s) again",
                    "5:2->4 the cluster offers 4 task slot(s) again"), requests);
            assertTrue(watch.published());
        }
    }

    @Test
    void ranksReadOnlyTheirAttemptsRequestAndAClearedAreaHasNone(@TempDir Path dir) throws Exception {
        try (ModelZoo zoo = ModelZoo.open(dir.toString())) {
            assertEquals(Optional.empty(), GrowRequest.read(zoo, "run1", 1), "no request yet");
            new GrowRequest(2, 2, 3, "the cluster offers 3 task slot(s) again").publish(zoo, "run1");
            assertEquals(Optional.empty(), GrowRequest.read(zoo, "run1", 1), "another attempt's");
            GrowRequest r = GrowRequest.read(zoo, "run1", 2).orElseThrow();
            assertEquals("growing from 2 to 3 rank(s): the cluster offers 3 task slot(s) again", r.stopMessage());
            GrowRequest.clear(zoo, "run1");
            assertEquals(Optional.empty(), GrowRequest.read(zoo, "run1", 2), "cleared");
        }
        assertThrows(IllegalArgumentException.class, () -> new GrowRequest(1, 3, 3, "same size"));
    }

    private static void await(java.util.function.BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out");
            Thread.sleep(10);
        }
    }
}
