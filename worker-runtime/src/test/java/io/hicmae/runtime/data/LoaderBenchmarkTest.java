package io.hicmae.runtime.data;

import ai.djl.Device;
import io.hicmae.runtime.bench.LoaderBenchmark;
import io.hicmae.runtime.config.HicmaeConfig;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code hicmae bench loader}'s harness on a small stored-geometry dataset, in both forms of the loader. */
class LoaderBenchmarkTest {

    private static final HicmaeConfig DEMO = HicmaeConfig.demo();
    private static final Pattern LAST = Pattern.compile("total ([\\d.]+) clips/s$");

    @Test
    void measuresBothFormsAndEndsWithClipsPerSecond(@TempDir Path dir) throws Exception {
        ClipGeometry g = ClipGeometry.STORED;
        ClipFiles.storedDataset(dir, DEMO, new int[] {4});
        for (Preprocessing where : Preprocessing.values()) {
            boolean onConsumer = where == Preprocessing.DEVICE; // the device path at the stored geometry, timed apart
            LoaderBenchmark.Result r = LoaderBenchmark.run(dir.toUri().toString(), DEMO, 2, 1, 0.5, 0, where,
                    onConsumer, Device.cpu(), new Configuration());
            assertEquals(where, r.where());
            assertTrue(r.clips() >= 2 && r.clips() % 2 == 0, where + ": " + r.clips() + " clips");
            long perClip = where == Preprocessing.DEVICE ? g.frameBytes() + g.pcmBytes()
                    : 4L * (3 * DEMO.numFrames() * DEMO.imgSize() * DEMO.imgSize()
                            + DEMO.audioFrames() * DEMO.audioMelBins());
            assertEquals(r.clips() * perClip, r.bytes(), where + ": bytes per clip");
            assertTrue(!onConsumer || r.preprocessMs() > 0, "device preprocessing timed");
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            r.print(new PrintStream(out, true, StandardCharsets.UTF_8));
            List<String> lines = out.toString(StandardCharsets.UTF_8).lines().toList();
            Matcher m = LAST.matcher(lines.get(lines.size() - 1));
            assertTrue(m.find(), "last line: " + lines.get(lines.size() - 1));
            assertEquals(r.clipsPerSecond(), Double.parseDouble(m.group(1)), 0.06);
        }
    }
}
