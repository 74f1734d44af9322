package io.hicmae.driver.spark;

import com.google.gson.JsonParser;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.RunStatus;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunStatusWriterTest {

    @TempDir Path dir;

    private static RunStatus read(ModelZoo zoo) throws Exception {
        return zoo.runs().show("r1").status().orElseThrow();
    }

    @Test
    void runningIsRenewedWithTheNewestStepThenFinishedOrFailed() throws Exception {
        try (ModelZoo zoo = ModelZoo.open(dir.resolve("zoo").toString())) {
            try (RunStatusWriter w = new RunStatusWriter(zoo, Clock.systemUTC(), "r1", "hicmae", 10, 2, "me",
                    Duration.ofMillis(50))) {
                RunStatus first = read(zoo);
                assertEquals(RunStatus.RUNNING, first.state());
                assertEquals(0, first.step());
                assertTrue(first.heartbeatUntil().isAfter(first.updatedAt()));
                w.accept(JsonParser.parseString("{\"step\":4,\"loss\":0.5,\"video\":0.25,\"lr\":1e-4,"
                        + "\"ms_data\":3,\"clips_total\":16}").getAsJsonObject());
                long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (read(zoo).step() != 4) { // the next renewal writes it
                    assertTrue(System.nanoTime() < deadline, "the heartbeat never wrote step 4");
                    Thread.sleep(20);
                }
                assertEquals(Map.of("loss", 0.5, "video", 0.25), read(zoo).losses());
                w.finished("hicmae:v000001", 10);
            }
            RunStatus done = read(zoo);
            assertEquals(RunStatus.FINISHED, done.state());
            assertEquals("hicmae:v000001", done.publishedVersion());
            assertEquals(10, done.step());
            assertNull(done.heartbeatUntil());
            Thread.sleep(200);
            assertEquals(RunStatus.FINISHED, read(zoo).state(), "no renewal after the end");

            try (RunStatusWriter w = new RunStatusWriter(zoo, Clock.systemUTC(), "r1", "hicmae", 10, 2, "me",
                    Duration.ofSeconds(30))) {
                w.failed(new IllegalStateException("rank 1 of run r1: boom", new java.io.IOException("disk full")));
            }
            assertEquals(RunStatus.FAILED, read(zoo).state());
            assertEquals("rank 1 of run r1: boom <- disk full", read(zoo).lastError());
        }
    }
}
