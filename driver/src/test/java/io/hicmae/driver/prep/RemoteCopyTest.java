package io.hicmae.driver.prep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RemoteCopyTest {

    @TempDir Path dir;

    @Test
    void aFileOverTheByteLimitIsRefusedAndLeavesNothing() throws Exception {
        Path remote = Files.write(dir.resolve("big.mp4"), new byte[10_000]);
        Path scratch = Files.createDirectories(dir.resolve("scratch"));
        try (RemoteCopy copy = new RemoteCopy(new Configuration(), Duration.ofSeconds(30), 9_999)) {
            RemoteCopy.TooLarge e = assertThrows(RemoteCopy.TooLarge.class,
                    () -> copy.fetch(remote.toUri().toString(), scratch));
            assertTrue(e.getMessage().contains("10000 bytes, over the copy limit of 9999"), e.getMessage());
        }
        try (var left = Files.list(scratch)) {
            assertEquals(0, left.count(), "a refused copy leaves no file");
        }
    }

    @Test
    void aFileWithinTheLimitIsCopiedWhole() throws Exception {
        byte[] bytes = new byte[100_000];
        new java.util.Random(1).nextBytes(bytes);
        Path remote = Files.write(dir.resolve("ok.mp4"), bytes);
        try (RemoteCopy copy = new RemoteCopy(new Configuration(), Duration.ofSeconds(30), 100_000)) {
            assertArrayEquals(bytes, Files.readAllBytes(copy.fetch(remote.toUri().toString(), dir)));
        }
    }
}
