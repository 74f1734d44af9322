package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LogsTest {
    @TempDir Path dir;

    @Test
    void tailIsBoundedAndStartsAtALine() throws IOException {
        Path log = dir.resolve("big.log");
        Files.writeString(log, IntStream.range(0, 5_000).mapToObj(i -> "line " + i).collect(Collectors.joining("\n"))
                + "\n");

        String tail = Logs.tail(log);

        assertTrue(tail.length() < Logs.TAIL_BYTES + 300, "tail of " + tail.length() + " chars");
        assertTrue(tail.contains("line 4999\n"), tail);
        String firstQuoted = tail.lines().skip(2).findFirst().orElseThrow();
        assertTrue(firstQuoted.matches("line \\d+"), "starts mid-line: " + firstQuoted);
        assertTrue(tail.contains("(last "), "a cut tail says so: " + tail.lines().limit(2).toList());
    }

    @Test
    void tailOfAMissingLogSaysSo() {
        assertTrue(Logs.tail(dir.resolve("none.log")).contains("no log written"));
    }

    @Test
    void completeLinesLeavesOutTheLineBeingWritten() throws IOException {
        Path log = Files.writeString(dir.resolve("growing.log"), "PROBE a\nPROBE b\nPROBE c-partial");

        String lines = Logs.completeLines(log);

        assertEquals("PROBE a\nPROBE b\n", lines);
        assertFalse(lines.contains("partial"));
    }
}
