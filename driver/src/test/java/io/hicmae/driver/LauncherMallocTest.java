package io.hicmae.driver;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.runtime.train.MallocTuning;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code bin/hicmae} starts the JVM with {@link MallocTuning}'s settings merged into the user's GLIBC_TUNABLES, the
 * same merge as the Java side's: run against a stand-in {@code java} on the PATH that prints what it was given.
 */
class LauncherMallocTest {

    @TempDir Path dir;

    @Test
    void theLauncherExportsTheMallocSettingsAndKeepsTheUsersOwn() throws Exception {
        assertEquals(MallocTuning.TUNABLES + "|" + MallocTuning.ARENA_MAX, launch(null, null));
        String mine = "glibc.malloc.trim_threshold=1:glibc.cpu.hwcaps=-AVX512F";
        assertEquals(MallocTuning.merge(mine) + "|8", launch(mine, "8"));
    }

    /** GLIBC_TUNABLES and MALLOC_ARENA_MAX as the launcher's java sees them, given the caller's values. */
    private String launch(String tunables, String arenaMax) throws IOException, InterruptedException {
        Path root = dir.resolve("root" + System.nanoTime());
        Files.createDirectories(root.resolve("bin"));
        Files.createDirectories(root.resolve("driver/target/lib"));
        Files.createFile(root.resolve("driver/target/hicmae-driver.jar"));
        Path repo = Path.of(System.getProperty("user.dir")).getParent();
        Files.copy(repo.resolve("bin/hicmae"), root.resolve("bin/hicmae"));
        Path fakeBin = Files.createDirectories(root.resolve("fake-bin"));
        Path java = fakeBin.resolve("java");
        Files.writeString(java, "#!/usr/bin/env bash\necho \"${GLIBC_TUNABLES:-}|${MALLOC_ARENA_MAX:-}\"\n");
        Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
        ProcessBuilder pb = new ProcessBuilder(List.of("bash", root.resolve("bin/hicmae").toString(), "--help"))
                .redirectErrorStream(true);
        pb.environment().put("PATH", fakeBin + ":" + System.getenv("PATH"));
        pb.environment().remove("GLIBC_TUNABLES");
        pb.environment().remove("MALLOC_ARENA_MAX");
        if (tunables != null) {
            pb.environment().put("GLIBC_TUNABLES", tunables);
        }
        if (arenaMax != null) {
            pb.environment().put("MALLOC_ARENA_MAX", arenaMax);
        }
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "bin/hicmae did not exit");
        assertEquals(0, p.exitValue(), out);
        return out;
    }
}
