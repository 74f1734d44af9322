package io.hicmae.driver.pretrain;

import io.hicmae.driver.spark.RunCheckpoints;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ModelZoo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real SIGTERM to a JVM whose ranks train (a local-mode run in a child JVM, {@link PreemptedRun}): the signal is
 * held, the ranks agree on the notice at the next step boundary, rank 0 commits a checkpoint there (the run
 * checkpoints nowhere else before its end), and only then does the JVM exit as SIGTERM asks. The drained JVM loses
 * no finished step.
 */
class PreemptionSignalTest {

    private static final Pattern STEP = Pattern.compile("^step (\\d+)/100 ");
    private static final long DEADLINE_S = 240;

    @Test
    void sigtermCheckpointsAtTheNextStepBoundaryBeforeTheJvmExits(@TempDir Path dir) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            if (a.startsWith("--add-opens") || a.startsWith("-Xss") || a.startsWith("-D")
                    || a.startsWith("-XX:+IgnoreUnrecognizedVMOptions")) {
                command.add(a);
            }
        }
        command.addAll(List.of("-Xmx1g", "-cp", System.getProperty("java.class.path"),
                PreemptedRun.class.getName(), dir.toString()));
        Path log = dir.resolve("child.log");
        Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_S);
            int seen = 0;
            while (seen < 3) {
                assertTrue(child.isAlive(), "the run ended early:\n" + Files.readString(log));
                assertTrue(System.nanoTime() < deadline, "no step 3 within " + DEADLINE_S + " s:\n"
                        + Files.readString(log));
                Thread.sleep(50);
                seen = lastStep(Files.readString(log));
            }
            long signalled = System.nanoTime();
            child.destroy(); // SIGTERM
            int atSignal = lastStep(Files.readString(log));
            assertTrue(child.waitFor(120, TimeUnit.SECONDS), "still running 120 s after SIGTERM");
            System.out.printf("PreemptionSignalTest: SIGTERM after step %d; the JVM exited %d ms later%n", atSignal,
                    (System.nanoTime() - signalled) / 1_000_000);
            String out = Files.readString(log);
            assertEquals(128 + 15, child.exitValue(), "the JVM exits as SIGTERM asks, after the hold:\n" + out);
            assertTrue(out.contains("preemption notice: SIGTERM to the executor; the ranks checkpoint at the next "
                    + "step boundary"), out);
            try (ModelZoo zoo = ModelZoo.open(dir.resolve("zoo").toString())) {
                List<Checkpoint> cps = zoo.checkpoints().list("sigterm");
                assertEquals(1, cps.size(), "the notice's checkpoint only: " + cps + "\n" + out);
                long step = cps.get(0).step();
                // The step running when the signal came finishes, and the ranks stop at that boundary.
                assertTrue(step >= atSignal && step <= atSignal + 2 && step < 100,
                        "checkpoint at step " + step + ", signal after step " + atSignal + "\n" + out);
                assertTrue(out.contains("stopping after step " + step + " at its checkpoint: rank "), out);
                assertEquals(step, RunCheckpoints.readMetrics(zoo, cps.get(0)).size(), "one line per step");
            }
        } finally {
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
        }
    }

    private static int lastStep(String output) {
        int last = 0;
        for (String l : output.split("\n")) {
            Matcher m = STEP.matcher(l);
            if (m.find()) {
                last = Math.max(last, Integer.parseInt(m.group(1)));
            }
        }
        return last;
    }
}
