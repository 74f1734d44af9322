package io.hicmae.driver.spark;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.train.TrainingState;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ModelZoo;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CheckpointWriterTest {

    private static final Duration WAIT = Duration.ofSeconds(60);

    private static TrainingState state(NDManager m, float value, long step) {
        Map<String, NDArray> params = new LinkedHashMap<>();
        params.put("w", m.full(new Shape(3, 4), value));
        Map<String, NDArray> moments = new LinkedHashMap<>();
        moments.put("m.w", m.full(new Shape(3, 4), value / 2));
        moments.put("v.w", m.full(new Shape(3, 4), value / 4));
        return new TrainingState(params, moments, step);
    }

    @Test
    void asyncCheckpointsCommitInStepOrderWithTheStateAsItWasWhenSubmitted(@TempDir Path dir) throws Exception {
        try (ModelZoo zoo = ModelZoo.open(dir.toString()); NDManager m = NDManager.newBaseManager()) {
            CheckpointWriter w = new CheckpointWriter(zoo, "run1", true, 3, Duration.ofMillis(10));
            TrainingState live = state(m, 1f, 1);
            List<String> metrics = new ArrayList<>(List.of("{\"step\":1}"));
            w.submit(live, Map.of("k", "1"), metrics, WAIT);
            // The training thread goes on and changes the live arrays: the snapshot must not see it.
            live.parameters().get("w").muli(100);
            metrics.add("{\"step\":2}");
            w.submit(new TrainingState(live.parameters(), live.moments(), 2), Map.of("k", "2"), metrics, WAIT);
            w.flush(WAIT);
            w.close(false, WAIT);

            List<Checkpoint> cps = zoo.checkpoints().list("run1");
            assertEquals(List.of(1L, 2L), cps.stream().map(Checkpoint::step).toList());
            assertEquals("1", RunCheckpoints.readMetadata(zoo, cps.get(0)).get("k"));
            assertEquals(List.of("{\"step\":1}"), RunCheckpoints.readMetrics(zoo, cps.get(0)));
            try (NDManager r = NDManager.newBaseManager()) {
                TrainingState first = RunCheckpoints.readState(zoo, cps.get(0), r);
                assertArrayEquals(new float[12], first.parameters().get("w").sub(1f).toFloatArray());
                assertArrayEquals(m.full(new Shape(12), 0.25f).toFloatArray(),
                        first.moments().get("v.w").toFloatArray());
                TrainingState second = RunCheckpoints.readState(zoo, cps.get(1), r);
                assertArrayEquals(m.full(new Shape(12), 100f).toFloatArray(),
                        second.parameters().get("w").toFloatArray());
                assertEquals(2, second.step());
            }
        }
    }

    @Test
    void aFailingUploadIsRetriedThenReportedNamingTheStep(@TempDir Path dir) throws Exception {
        try (ModelZoo zoo = ModelZoo.open(dir.toString()); NDManager m = NDManager.newBaseManager()) {
            // An invalid run id fails every try inside the zoo's write.
            CheckpointWriter w = new CheckpointWriter(zoo, "Not A Run Id", true, 3, Duration.ofMillis(10));
            w.submit(state(m, 1f, 7), Map.of(), List.of(), WAIT);
            IOException e = assertThrows(IOException.class, () -> w.submit(state(m, 2f, 8), Map.of(), List.of(),
                    WAIT));
            assertTrue(e.getMessage().startsWith("the checkpoint of step 7 of run Not A Run Id failed after 3 "
                    + "attempt(s)"), e.getMessage());
            w.close(false, WAIT);
        }
    }

    @Test
    void synchronousCheckpointsWriteOnTheCallingThread(@TempDir Path dir) throws Exception {
        try (ModelZoo zoo = ModelZoo.open(dir.toString()); NDManager m = NDManager.newBaseManager();
                CheckpointWriter w = new CheckpointWriter(zoo, "run2", false, 3, Duration.ofMillis(10))) {
            w.submit(state(m, 1f, 5), Map.of(), List.of("{}"), WAIT);
            assertEquals(5, zoo.checkpoints().latest("run2").orElseThrow().step(), "committed before submit returned");
        }
    }
}
