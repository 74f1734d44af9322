package io.hicmae.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.train.TrainingState;
import io.hicmae.zoo.ChecksumMismatchException;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.ZooException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Resume reads only verified checkpoints, falls back past corrupt ones, and publishing refuses non-finite weights. */
class RunCheckpointsTest {
    private static final String RUN = "run-verify";

    @TempDir Path dir;
    private ModelZoo zoo;
    private NDManager manager;

    @BeforeEach
    void open() throws IOException {
        zoo = ModelZoo.open(dir.resolve("zoo").toString());
        manager = NDManager.newBaseManager();
    }

    @AfterEach
    void close() throws IOException {
        manager.close();
        zoo.close();
    }

    private TrainingState state(long step, float weight, float bias1) {
        Map<String, NDArray> params = new LinkedHashMap<>();
        params.put("encoder.weight", manager.full(new Shape(2, 3), weight));
        params.put("encoder.bias", manager.create(new float[] {0f, bias1, 0f}));
        Map<String, NDArray> moments = new LinkedHashMap<>();
        params.forEach((k, v) -> {
            moments.put("m." + k, v.zerosLike());
            moments.put("v." + k, v.zerosLike());
        });
        return new TrainingState(params, moments, step);
    }

    private Checkpoint write(long step, float weight, float bias1) throws IOException {
        RunCheckpoints.write(zoo, RUN, state(step, weight, bias1), Map.of("run", RUN),
                List.of("{\"step\": " + step + "}"));
        return zoo.checkpoints().latest(RUN).orElseThrow();
    }

    private static Path local(Checkpoint cp) {
        return Path.of(cp.location()).resolve(RunCheckpoints.STATE_FILE);
    }

    @Test
    void resumeSkipsATruncatedNewestCheckpointAndUsesTheNewestIntactOne() throws IOException {
        write(1, 1f, 0f);
        Checkpoint newest = write(2, 2f, 0f);
        byte[] full = Files.readAllBytes(local(newest));
        Files.write(local(newest), java.util.Arrays.copyOf(full, full.length - 8));

        AtomicReference<Float> restored = new AtomicReference<>();
        AtomicReference<Long> step = new AtomicReference<>();
        List<String> metrics = new ArrayList<>();
        assertTrue(RunCheckpoints.restoreLatest(zoo, RUN, (s, origin) -> {
            step.set(s.step());
            restored.set(s.parameters().get("encoder.weight").getFloat(0, 0));
            assertTrue(origin.contains("step-000000000001"), origin);
        }, metrics));
        assertEquals(1L, step.get());
        assertEquals(1f, restored.get());
        assertEquals(List.of("{\"step\": 1}"), metrics);
    }

    @Test
    void resumeWithNoIntactCheckpointFailsNamingEach() throws IOException {
        Checkpoint only = write(1, 1f, 0f);
        byte[] bytes = Files.readAllBytes(local(only));
        bytes[bytes.length - 1] ^= 0x40; // one flipped bit in a parameter
        Files.write(local(only), bytes);

        ZooException e = assertThrows(ZooException.class,
                () -> RunCheckpoints.restoreLatest(zoo, RUN, (s, o) -> {
                    throw new AssertionError("restored a corrupt state");
                }, new ArrayList<>()));
        assertTrue(e.getMessage().contains("no intact checkpoint") && e.getMessage().contains("step-000000000001")
                && e.getMessage().contains(RunCheckpoints.STATE_FILE), e.getMessage());
        assertFalse(RunCheckpoints.restoreLatest(zoo, "run-none", (s, o) -> {}, new ArrayList<>()));
    }

    @Test
    void publishedWeightsComeFromVerifiedBytesOnly() throws IOException {
        Checkpoint cp = write(1, 1f, 0f);
        byte[] bytes = Files.readAllBytes(local(cp));
        bytes[bytes.length - 1] ^= 0x40;
        Files.write(local(cp), bytes);
        Path weights = dir.resolve("weights.safetensors");

        ChecksumMismatchException e = assertThrows(ChecksumMismatchException.class,
                () -> RunCheckpoints.writeWeights(zoo, cp, weights, RUN));
        assertEquals(RunCheckpoints.STATE_FILE, e.file());
        assertFalse(Files.exists(weights));
    }

    @Test
    void publishingRefusesANonFiniteTensorNamingIt() throws IOException {
        Checkpoint cp = write(1, 1f, Float.NaN);
        Path weights = dir.resolve("weights.safetensors");

        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> RunCheckpoints.writeWeights(zoo, cp, weights, RUN));
        assertTrue(e.getMessage().contains("tensor encoder.bias holds 1 non-finite value(s), the first NaN at flat"
                + " index 1"), e.getMessage());
        assertFalse(Files.exists(weights));

        Checkpoint inf = write(2, Float.NEGATIVE_INFINITY, 0f);
        IllegalStateException e2 = assertThrows(IllegalStateException.class,
                () -> RunCheckpoints.writeWeights(zoo, inf, weights, RUN));
        assertTrue(e2.getMessage().contains("encoder.weight holds 6 non-finite"), e2.getMessage());

        Checkpoint fine = write(3, 1f, 2f);
        RunCheckpoints.writeWeights(zoo, fine, weights, RUN);
        assertTrue(Files.size(weights) > 0);
    }
}
