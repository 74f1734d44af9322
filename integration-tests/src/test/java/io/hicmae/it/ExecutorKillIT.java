package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.it.jobs.BarrierProbeJob;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A kill -9 of one executor JVM under a running barrier stage: the driver sees the loss, a Worker starts a
 * replacement, and the whole stage runs again on it.
 */
class ExecutorKillIT {
    /** Longer than every wait below: the first attempt must end by the kill, never by running out its hold. */
    private static final long HOLD_MILLIS = 600_000;
    private static final Duration START_TIMEOUT = Duration.ofMinutes(3);
    private static final Duration DETECT_TIMEOUT = Duration.ofSeconds(10);
    private static final Duration REPLACE_TIMEOUT = Duration.ofSeconds(15);
    private static final Duration FINISH_TIMEOUT = Duration.ofMinutes(3);
    private static final String REMOVED = "PROBE executor-removed ";
    private static final String ADDED = "PROBE executor-added ";

    private static SparkCluster cluster;

    @BeforeAll
    static void start() throws IOException {
        cluster = SparkCluster.builder("ExecutorKillIT").start();
    }

    @AfterAll
    static void stop() {
        SparkCluster.closeAndCheck(cluster);
    }

    @Test
    void killedExecutorFailsTheBarrierStageWhichRunsAgainOnAReplacement() throws IOException {
        try (Submission job = new SparkSubmitter(cluster).start("probe-kill",
                Application.testJob(cluster.paths(), BarrierProbeJob.class), Map.of(),
                List.of("2", Long.toString(HOLD_MILLIS)))) {
            String started = job.awaitLine("partition 1's first task",
                    l -> l.startsWith("PROBE task-start stage=0 attempt=0 partition=1 "), START_TIMEOUT);
            String victimId = started.substring(started.lastIndexOf("executor=") + "executor=".length());
            List<SparkCluster.Executor> before = cluster.executors();
            SparkCluster.Executor victim = before.stream().filter(e -> e.id().equals(victimId)).findFirst()
                    .orElseThrow(() -> new AssertionError("No JVM for executor " + victimId + " in " + before));
            Set<String> initialIds = before.stream().map(SparkCluster.Executor::id).collect(Collectors.toSet());

            long killedAt = System.nanoTime();
            cluster.killExecutor(victim.pid());
            job.awaitLine("the driver to remove executor " + victimId,
                    l -> l.startsWith(REMOVED + victimId + " "), DETECT_TIMEOUT);
            long removedAt = System.nanoTime();
            String added = job.awaitLine("a replacement executor",
                    l -> l.startsWith(ADDED) && !initialIds.contains(l.substring(ADDED.length())), REPLACE_TIMEOUT);
            long replacedAt = System.nanoTime();
            String replacementId = added.substring(ADDED.length());

            Submission.Result r = job.awaitExit(FINISH_TIMEOUT);
            assertEquals(0, r.exitCode(), r.describe());
            List<ProbeResult> tasks = ProbeResult.of(r);
            assertEquals(2, tasks.size(), r.describe());
            for (ProbeResult t : tasks) {
                assertEquals(1, t.stageAttempt(), "the stage's second attempt must have produced " + t);
                assertTrue(t.pid() != victim.pid(), "a task ran in the killed JVM: " + t);
                assertTrue(cluster.workerPids().contains(t.workerPid()), "not started by a Worker: " + t);
            }
            assertTrue(tasks.stream().anyMatch(t -> t.executor().equals(replacementId)),
                    "no task ran on replacement executor " + replacementId + ": " + tasks);
            System.out.printf("ExecutorKillIT: executor %s (pid %d) killed; driver saw it after %d ms,"
                            + " replacement %s registered after %d ms; job %d ms%n",
                    victimId, victim.pid(), (removedAt - killedAt) / 1_000_000, replacementId,
                    (replacedAt - killedAt) / 1_000_000, r.wall().toMillis());
        }
    }
}
