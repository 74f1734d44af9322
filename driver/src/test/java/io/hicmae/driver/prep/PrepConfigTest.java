package io.hicmae.driver.prep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.driver.HicmaeCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class PrepConfigTest {

    @TempDir Path dir;

    private static PrepConfig config(int windowStride, int targetFileMb, List<String> extensions) {
        return new PrepConfig("in", "out", "local[2]", windowStride, Duration.ofSeconds(5), 64, targetFileMb, 256,
                extensions, Duration.ofSeconds(10));
    }

    @Test
    void rejectsInvalidValuesNamingTheKey() {
        assertEquals("Invalid value 0 for configuration window-stride: must be at least 1",
                assertThrows(IllegalArgumentException.class, () -> config(0, 256, List.of("mp4"))).getMessage());
        assertEquals("Invalid value 4 for configuration target-file-mb: must be between 8 and 4096",
                assertThrows(IllegalArgumentException.class, () -> config(64, 4, List.of("mp4"))).getMessage());
        assertEquals("Invalid value .mp4 for configuration extensions: must be one or more extensions of letters and"
                        + " digits, without dots",
                assertThrows(IllegalArgumentException.class, () -> config(64, 256, List.of(".mp4"))).getMessage());
    }

    @Test
    void sizesFilesBelowTheTarget() {
        PrepConfig c = config(64, 256, PrepConfig.parseExtensions(" .MP4, mov ,"));
        assertEquals(List.of("mp4", "mov"), c.extensions());
        assertEquals(204, c.maxClipsPerFile()); // 256 MiB / 1,310,720 bytes
    }

    @Test
    void theCliReportsABadValueWithItsKey() {
        StringWriter err = new StringWriter();
        CommandLine cli = HicmaeCli.newCommandLine();
        cli.setErr(new PrintWriter(err));
        int rc = cli.execute("prep", "--input", "in", "--output", "out", "--videos-per-task", "0");
        assertEquals(1, rc);
        assertTrue(err.toString().contains("Invalid value 0 for configuration videos-per-task: must be at least 1"),
                err.toString());
    }

    @Test
    void synthWritesVideosAndLabels() throws Exception {
        StringWriter out = new StringWriter();
        CommandLine cli = HicmaeCli.newCommandLine();
        cli.setOut(new PrintWriter(out));
        int rc = cli.execute("synth", "--out", dir.toString(), "--videos", "2", "--seconds", "1", "--seed", "3");
        assertEquals(0, rc, out.toString());
        assertTrue(Files.size(dir.resolve("synth-3-00000.mp4")) > 0);
        assertTrue(Files.size(dir.resolve("synth-3-00001.mp4")) > 0);
        assertEquals(3, Files.readAllLines(dir.resolve("labels.csv")).size());
        assertEquals(3, Files.readAllLines(dir.resolve("videos.csv")).size());

        // Its labels.csv is a manifest that prep takes; the dry run shows the label space and the counts.
        PrintStream stdout = System.out;
        ByteArrayOutputStream printed = new ByteArrayOutputStream();
        System.setOut(new PrintStream(printed, true, StandardCharsets.UTF_8));
        try {
            rc = cli.execute("prep", "--manifest", dir.resolve("labels.csv").toString(), "--output",
                    dir.resolve("clips").toString(), "--dry-run");
        } finally {
            System.setOut(stdout);
        }
        String text = printed.toString(StandardCharsets.UTF_8);
        assertEquals(0, rc, text);
        assertTrue(text.contains("  manifest = " + dir.resolve("labels.csv")), text);
        assertTrue(text.contains(": 2 videos, categorical labels ["), text);
        assertTrue(text.contains("  split train: 1 videos\n  split val: 1 videos\n  fold 0: 1 videos\n"
                + "  fold 1: 1 videos\n  output " + dir.resolve("clips") + " is new"), text);
    }

    @Test
    void prepTakesExactlyOneOfInputAndManifest() {
        StringWriter err = new StringWriter();
        CommandLine cli = HicmaeCli.newCommandLine();
        cli.setErr(new PrintWriter(err));
        assertEquals(1, cli.execute("prep", "--input", "in", "--manifest", "m.csv", "--output", "out"));
        assertTrue(err.toString().contains("Invalid value m.csv for configuration manifest: give either input or"
                + " manifest, not both"), err.toString());
        assertEquals(1, cli.execute("prep", "--output", "out", "--dry-run"));
        assertTrue(err.toString().contains("Missing required configuration input or manifest"), err.toString());
        assertEquals(1, cli.execute("prep", "--manifest", dir.resolve("none.csv").toString(), "--output", "out",
                "--dry-run"));
        assertTrue(err.toString().contains("Invalid value " + dir.resolve("none.csv") + " for configuration manifest:"
                + " no such file"), err.toString());
    }

    @Test
    void progressLineShowsRateAndEta() {
        assertEquals("prep: 25/100 videos (25.0%), 75 clips, 2 quarantined, 7.5 clips/s, ETA 0:00:30",
                PrepProgress.format(25, 100, 75, 2, 10));
        assertEquals("prep: 0/100 videos (0.0%), 0 clips, 0 quarantined, 0.0 clips/s, ETA unknown",
                PrepProgress.format(0, 100, 0, 0, 0));
    }
}
