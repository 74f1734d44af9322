package io.hicmae.runtime.io;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class AtomicFilesTest {
    @TempDir
    Path dir;

    @Test
    void writerFailingMidwayLeavesTargetUnchangedAndNoTemporaryFile() throws IOException {
        Path target = dir.resolve("weights.safetensors");
        Files.writeString(target, "previous checkpoint");
        IOException e = assertThrows(IOException.class, () -> AtomicFiles.write(target, channel -> {
            channel.write(ByteBuffer.wrap("half of the new".getBytes(StandardCharsets.UTF_8)));
            throw new IOException("simulated crash");
        }));
        assertEquals("simulated crash", e.getMessage());
        assertEquals("previous checkpoint", Files.readString(target));
        try (var listing = Files.list(dir)) {
            assertEquals(List.of(target), listing.toList());
        }
    }

    @Test
    void successfulWriteReplacesTarget() throws IOException {
        Path target = dir.resolve("weights.npz");
        Files.writeString(target, "old");
        AtomicFiles.write(target, channel -> channel.write(ByteBuffer.wrap("new".getBytes(StandardCharsets.UTF_8))));
        assertEquals("new", Files.readString(target));
        try (var listing = Files.list(dir)) {
            assertEquals(List.of(target), listing.toList());
        }
    }
}
