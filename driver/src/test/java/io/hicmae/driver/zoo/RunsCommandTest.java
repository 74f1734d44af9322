package io.hicmae.driver.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.driver.CliRun;
import io.hicmae.zoo.ContentWriter;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.RunStatus;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunsCommandTest {
    @TempDir Path dir;
    private final CliRun cli = new CliRun();

    private int run(String... args) {
        return cli.run(args);
    }

    @AfterEach
    void realClock() {
        RunsCommand.clock = Clock.systemUTC();
    }

    private static RunStatus status(String runId, String state, long step, Instant until, String version,
            String error) {
        return new RunStatus(runId, "hicmae", state, 100, 4, step, Map.of("loss", 0.5), "ops@node1 (app-1)", until,
                Instant.parse("2026-12-07T10:00:00Z"), Instant.parse("2026-12-07T10:05:00Z"), version, error);
    }

    @Test
    void listsLiveFinishedFailedAndAbandonedRuns() throws Exception {
        String zoo = dir.resolve("zoo").toString();
        try (ModelZoo z = ModelZoo.open(zoo)) {
            z.runs().writeStatus(status("r-live", RunStatus.RUNNING, 40, Instant.parse("2026-12-07T10:08:00Z"), null,
                    null));
            z.checkpoints().write("r-live", 30, Map.of("metrics.jsonl",
                    ContentWriter.of("{}\n".getBytes(StandardCharsets.UTF_8))));
            z.runs().writeStatus(status("r-gone", RunStatus.RUNNING, 20, Instant.parse("2026-12-07T09:00:00Z"), null,
                    null));
            z.runs().writeStatus(status("r-done", RunStatus.FINISHED, 100, null, "hicmae:v000003", null));
            z.runs().writeStatus(status("r-fail", RunStatus.FAILED, 7, null, null, "rank 1 failed at step 7"));
        }
        RunsCommand.clock = Clock.fixed(Instant.parse("2026-12-07T10:06:00Z"), ZoneOffset.UTC);
        try (ModelZoo z = ModelZoo.open(zoo)) {
            z.runs().writeStatus(status("r-held", RunStatus.RUNNING, 5, Instant.parse("2026-12-07T09:00:00Z"), null,
                    null));
            try (io.hicmae.zoo.RunLease lease = z.checkpoints().acquireLease("r-held", "ops@node1 job-7")) {
                // The lease, where the run has one, decides: live although the status file's heartbeat expired.
                assertEquals(0, run("runs", "list", "--zoo", zoo), cli.err());
                assertTrue(cli.out().contains("r-held  hicmae  running"), cli.out());
                assertTrue(cli.out().contains("held by ops@node1 job-7 (lease epoch 1) until "), cli.out());
                assertEquals(0, run("runs", "show", "r-held", "--zoo", zoo, "--json"));
                assertEquals(1, JsonParser.parseString(cli.out()).getAsJsonObject().getAsJsonObject("lease")
                        .get("epoch").getAsLong());
            }
        }
        // Still "running" in its status file but its lease was given up: abandoned.
        Thread.sleep(5);
        RunsCommand.clock = Clock.systemUTC(); // the lease's times are the zoo's real clock
        assertEquals(0, run("runs", "show", "r-held", "--zoo", zoo));
        assertTrue(cli.out().contains("state:       abandoned"), cli.out());
        RunsCommand.clock = Clock.fixed(Instant.parse("2026-12-07T10:06:00Z"), ZoneOffset.UTC);

        assertEquals(0, run("runs", "list", "--zoo", zoo), cli.err());
        String table = cli.out();
        assertTrue(table.startsWith("RUN     MODEL   STATE      WORLD  STEPS    CHECKPOINT"), table);
        assertTrue(table.contains("r-done  hicmae  finished   4      100/100  -"), table);
        assertTrue(table.contains("published hicmae:v000003"), table);
        assertTrue(table.contains("r-fail  hicmae  failed     4      7/100"), table);
        assertTrue(table.contains("error: rank 1 failed at step 7"), table);
        assertTrue(table.contains("r-gone  hicmae  abandoned  4      20/100"), table);
        assertTrue(table.contains("r-live  hicmae  running    4      40/100   30 at "), table);
        assertTrue(table.contains("held by ops@node1 (app-1) until 2026-12-07T10:08:00Z"), table);
        assertTrue(table.contains("loss=0.5000"), table);

        assertEquals(0, run("runs", "list", "--zoo", zoo, "--json"));
        JsonArray arr = JsonParser.parseString(cli.out()).getAsJsonArray();
        assertEquals(5, arr.size());
        JsonObject live = arr.get(4).getAsJsonObject();
        assertEquals("running", live.get("state").getAsString());
        assertEquals(30, live.getAsJsonObject("lastCheckpoint").get("step").getAsLong());
        assertEquals("abandoned", arr.get(2).getAsJsonObject().get("state").getAsString());

        assertEquals(0, run("runs", "show", "r-done", "--zoo", zoo));
        assertTrue(cli.out().contains("published:   hicmae:v000003"), cli.out());
        assertNotEquals(0, run("runs", "show", "r-none", "--zoo", zoo));
        assertTrue(cli.err().contains("No run \"r-none\""), cli.err());
    }
}
