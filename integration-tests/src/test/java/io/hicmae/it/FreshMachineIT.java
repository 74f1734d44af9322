package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.prep.NativesCheck;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A machine with only a JDK: in a private mount namespace ({@code unshare -m}) every libpulse on the system is
 * covered by a bind mount of /dev/null, and a child JVM encodes and decodes a video ({@link NativesCheck}). It must
 * work and map no libavdevice; the control run in the same namespace shows that libavdevice (what JavaCV's grabber
 * and recorder load) really cannot load there. Needs root and unshare: skips with the reason otherwise.
 */
class FreshMachineIT {

    @TempDir Path dir;

    /** Every libpulse shared object under the usual library directories (real files and the links to them). */
    private static List<Path> libpulse() throws Exception {
        List<Path> found = new ArrayList<>();
        for (String root : List.of("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib")) {
            Path r = Path.of(root);
            if (!Files.isDirectory(r)) {
                continue;
            }
            try (Stream<Path> s = Files.find(r, 3, (p, a) -> p.getFileName().toString().startsWith("libpulse")
                    && p.getFileName().toString().contains(".so"))) {
                s.map(p -> {
                    try {
                        return p.toRealPath();
                    } catch (java.io.IOException e) {
                        return p;
                    }
                }).filter(Files::isRegularFile).distinct().forEach(found::add);
            }
        }
        return found;
    }

    private record Run(int status, String out) {}

    private Run inNamespace(List<Path> hide, String... args) throws Exception {
        StringBuilder script = new StringBuilder("set -e; mount --make-rprivate / ; ");
        for (Path p : hide) {
            script.append("mount --bind /dev/null '").append(p).append("'; ");
        }
        script.append("exec \"$0\" \"$@\"");
        List<String> cmd = new ArrayList<>(List.of("unshare", "-m", "sh", "-c", script.toString(),
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
                "-cp", System.getProperty("java.class.path"), NativesCheck.class.getName(), dir.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(180, TimeUnit.SECONDS), "no answer in 180 s: " + out);
        return new Run(p.exitValue(), out);
    }

    @Test
    void decodeAndEncodeWorkWithLibpulseHidden() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "FreshMachineIT needs root to hide libpulse in a mount namespace (unshare -m); skipped as "
                        + System.getProperty("user.name"));
        Process probe = new ProcessBuilder("unshare", "-m", "true").redirectErrorStream(true).start();
        String why = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        Assumptions.assumeTrue(probe.waitFor(30, TimeUnit.SECONDS) && probe.exitValue() == 0,
                "FreshMachineIT: unshare -m does not work here (no CAP_SYS_ADMIN?): " + why);

        List<Path> hide = libpulse();
        Run control = inNamespace(hide, "--load-avdevice");
        assertEquals(2, control.status(), "libavdevice loaded with libpulse hidden " + hide
                + ": the namespace does not hide it\n" + control.out());
        assertTrue(control.out().contains("libpulse"), control.out());

        Run check = inNamespace(hide);
        assertEquals(0, check.status(), "encode and decode with libpulse hidden " + hide + ":\n" + check.out());
        assertTrue(check.out().contains("encoded and decoded 1 clips; forbidden libraries mapped: []"), check.out());
    }
}
