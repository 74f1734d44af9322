package io.hicmae.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;

/** The run area on one FileSystem: status files replaced whole, listed with the newest checkpoint, never blocking. */
abstract class RunAreaContract {

    abstract URI newRoot() throws IOException;

    abstract Configuration conf();

    static RunStatus status(String runId, String state, long step, Instant until, String version, String error) {
        return new RunStatus(runId, "hicmae", state, 100, 2, step, Map.of("loss", 0.5, "video", 0.25), "me@host",
                until, Instant.parse("2026-12-07T10:00:00Z"), Instant.parse("2026-12-07T10:05:00Z"), version, error);
    }

    @Test
    void runsListWithTheirStatusAndNewestCheckpointAndNeverWaitForAWriter() throws IOException {
        URI root = newRoot();
        try (ModelZoo zoo = ModelZoo.open(root, conf())) {
            Instant until = Instant.parse("2026-12-07T10:08:00Z");
            zoo.runs().writeStatus(status("live", RunStatus.RUNNING, 10, until, null, null));
            zoo.runs().writeStatus(status("live", RunStatus.RUNNING, 40, until, null, null)); // replaced whole
            zoo.checkpoints().write("live", 30, Map.of("metrics.jsonl",
                    ContentWriter.of("{}\n".getBytes(StandardCharsets.UTF_8))));
            zoo.runs().writeStatus(status("done", RunStatus.FINISHED, 100, null, "hicmae:v000001", null));
            zoo.runs().writeStatus(status("broke", RunStatus.FAILED, 7, null, null, "rank 1 failed at step 7"));
            zoo.checkpoints().write("legacy", 5, Map.of("metrics.jsonl",
                    ContentWriter.of("{}\n".getBytes(StandardCharsets.UTF_8))));
            FileSystem fs = FileSystem.get(root, conf());
            Path runs = new Path(new Path(root), "_runs");
            fs.mkdirs(new Path(runs, "garbled"));
            try (OutputStream out = fs.create(new Path(new Path(runs, "garbled"), RunArea.STATUS_FILE))) {
                out.write("{not json".getBytes(StandardCharsets.UTF_8));
            }
            // A writer in the middle of a checkpoint (its file still open) and of a status replacement.
            try (OutputStream open = fs.create(new Path(runs, "live/checkpoints/step-000000000050/state.bin"))) {
                open.write(new byte[1024]);
                open.flush();
                List<RunArea.Run> list = zoo.runs().list();
                assertEquals(List.of("broke", "done", "garbled", "legacy", "live"),
                        list.stream().map(RunArea.Run::runId).toList());
                RunArea.Run live = list.get(4);
                assertEquals(40, live.status().orElseThrow().step());
                assertEquals(30, live.latest().orElseThrow().step(), "the uncommitted step 50 is not listed");
                assertEquals(RunStatus.RUNNING, live.status().get().stateAt(until.minusSeconds(1)));
                assertEquals(RunStatus.ABANDONED, live.status().get().stateAt(until.plusSeconds(1)));
                assertEquals("hicmae:v000001", list.get(1).status().orElseThrow().publishedVersion());
                assertEquals("rank 1 failed at step 7", list.get(0).status().orElseThrow().lastError());
                assertTrue(list.get(2).problem().startsWith("status.json unreadable"), list.get(2).problem());
                assertEquals("no status.json", list.get(3).problem());
                assertEquals(5, list.get(3).latest().orElseThrow().step());
            }
            assertEquals(Map.of("loss", 0.5, "video", 0.25), zoo.runs().show("done").status().orElseThrow().losses());
            assertThrows(ZooException.class, () -> zoo.runs().show("nope"));
        }
    }

    /** A run's own small files (the driver's grow request): replaced whole, read back, absent until written. */
    @Test
    void aRunsOwnFilesAreReplacedWholeAndReadBack() throws IOException {
        try (ModelZoo zoo = ModelZoo.open(newRoot(), conf())) {
            assertTrue(zoo.runs().readFile("r1", "grow.json").isEmpty());
            zoo.runs().replaceFile("r1", "grow.json", "{\"to\":3}".getBytes(StandardCharsets.UTF_8));
            zoo.runs().replaceFile("r1", "grow.json", "{}".getBytes(StandardCharsets.UTF_8));
            assertEquals("{}", new String(zoo.runs().readFile("r1", "grow.json").orElseThrow(),
                    StandardCharsets.UTF_8));
            assertThrows(IllegalArgumentException.class,
                    () -> zoo.runs().replaceFile("r1", "../escape", new byte[0]), "names are checked");
            assertEquals(List.of("r1"), zoo.runs().list().stream().map(RunArea.Run::runId).toList());
        }
    }
}
