package io.hicmae.prep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decoding and encoding load only what the {@code org.bytedeco:ffmpeg} jar carries: after an encode and a decode in a
 * fresh JVM (this test JVM may have loaded other natives), neither libavdevice nor libpulse, libasound or libxcb is
 * mapped. The integration test {@code FreshMachineIT} runs the same check with libpulse hidden.
 */
class FreshMachineTest {

    @TempDir Path dir;

    @Test
    void anEncodeAndADecodeMapNoLibavdeviceNorSystemAudioLibraries() throws Exception {
        Result r = check();
        assertEquals(0, r.status, r.out);
        assertTrue(r.out.contains("encoded and decoded 1 clips; forbidden libraries mapped: []"), r.out);
    }

    @Test
    void theCheckFailsWhereLibavdeviceIsLoaded() throws Exception {
        Result r = check("--load-avdevice");
        if (r.status == 2) { // a JDK-only machine: libavdevice cannot load, which is what the product avoids
            assertTrue(r.out.contains("libavdevice failed to load"), r.out);
        } else {
            assertEquals(3, r.status, r.out);
            assertTrue(r.out.contains("libavdevice.so"), r.out);
        }
    }

    private record Result(int status, String out) {}

    private Result check(String... extra) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), NativesCheck.class.getName(), dir.toString()));
        cmd.addAll(List.of(extra));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the check did not finish: " + out);
        return new Result(p.exitValue(), out);
    }
}
