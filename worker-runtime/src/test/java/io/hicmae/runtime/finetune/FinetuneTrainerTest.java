package io.hicmae.runtime.finetune;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.io.Npz;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.TrainingStateFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FinetuneTrainerTest {

    private static final HicmaeConfig TINY = HicmaeConfig.tiny();
    private static final int Q = 5;

    private static Path golden(String file) {
        return Path.of(System.getProperty("hicmae.golden.dir", "../../shared/golden"), file);
    }

    private static FinetuneOptions fullFineTune() {
        return FinetuneOptions.recipe(Task.classification(Q), 2, 10, 4);
    }

    /** Step s on a batch of 4 drawn from s only: random inputs, upstream mixup, drop-path seed. */
    private static float step(FinetuneTrainer t, long s) {
        SplittableRandom rng = new SplittableRandom(100 + s);
        try (NDManager m = t.newStepManager()) {
            NDArray video = m.create(uniform(rng, 4 * 3 * 16 * 16 * 16), new Shape(4, 3, 16, 16, 16));
            NDArray audio = m.create(uniform(rng, 4 * 64 * 32), new Shape(4, 1, 64, 32));
            long[] labels = new long[4];
            for (int i = 0; i < 4; i++) {
                labels[i] = rng.nextInt(Q);
            }
            FinetuneOptions o = t.options();
            Mixup.Mixed mixed = new Mixup(o.mixup(), Q, o.smoothing()).apply(video, m.create(labels), rng);
            float loss = t.computeGradients(m, new FinetuneBatch(mixed.video(), audio, mixed.targets(), 1000 + s));
            t.applyGradients(m);
            return loss;
        }
    }

    private static float[] uniform(SplittableRandom rng, int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (rng.nextDouble() * 4 - 2);
        }
        return out;
    }

    @Test
    void fullFineTuningTrainsEveryParameter() {
        try (FinetuneTrainer t = new FinetuneTrainer(TINY, fullFineTune(), Device.cpu(), 1)) {
            assertEquals(201_039, t.parameterCount()); // the golden set's fine-tuning model
            List<String> keys = t.parameterKeys();
            assertEquals(new java.util.TreeSet<>(StateDict.parameters(t.model()).keySet()),
                    new java.util.TreeSet<>(keys));
            // In the staged backward pass's order: the head first, the video encoder's first block last.
            assertTrue(keys.indexOf("head.weight") < keys.indexOf("encoder_audio.blocks.0.norm1.weight"));
            assertTrue(keys.get(keys.size() - 1).startsWith("encoder.blocks.0."), keys.get(keys.size() - 1));
        }
    }

    @Test
    void linearProbeTrainsOnlyTheHead() {
        FinetuneOptions probe = FinetuneOptions.linearProbe(Task.classification(Q), 0.1, 0, 10, 4);
        try (FinetuneTrainer t = new FinetuneTrainer(TINY, probe, Device.cpu(), 1)) {
            Map<String, float[]> before = snapshot(t);

            step(t, 0);

            assertEquals(List.of("head.weight", "head.bias"), t.parameterKeys());
            assertEquals(Q * (4 * 32 + 1), t.parameterCount());
            Map<String, float[]> after = snapshot(t);
            before.forEach((k, v) -> {
                boolean changed = !java.util.Arrays.equals(v, after.get(k));
                assertEquals(k.startsWith("head."), changed, k);
            });
        }
    }

    @Test
    void pretrainedCheckpointLoadsTheBackboneAndKeepsAFreshHead() throws Exception {
        try (FinetuneTrainer t = new FinetuneTrainer(TINY, fullFineTune(), Device.cpu(), 1);
                NDManager m = NDManager.newBaseManager()) {
            Map<String, NDArray> checkpoint = new LinkedHashMap<>(Npz.read(m, golden("weights.npz")));
            checkpoint.put("head.weight", m.zeros(new Shape(99, 128))); // another task's head: ignored
            Map<String, float[]> before = snapshot(t);

            t.loadPretrained(checkpoint, "weights.npz");

            Map<String, float[]> after = snapshot(t);
            assertArrayEquals(checkpoint.get("encoder.blocks.0.attn.qkv.weight").toFloatArray(),
                    after.get("encoder.blocks.0.attn.qkv.weight"));
            assertArrayEquals(before.get("head.weight"), after.get("head.weight"));
            assertArrayEquals(before.get("fc_norm.weight"), after.get("fc_norm.weight"));
            assertArrayEquals(new float[] {0.2f, 0.2f, 0.2f, 0.2f, 0.2f}, after.get("video_layer_weights"));
        }
    }

    @Test
    void regressionLossIsTheMeanSquaredError() {
        FinetuneOptions o = new FinetuneOptions(Task.regression(3), 1e-3, 1e-6, 0, 10, 2,
                AdamW.Settings.finetuning(), 0.75, 0f, 0f, Mixup.Settings.off(), false);
        try (FinetuneTrainer t = new FinetuneTrainer(TINY, o, Device.cpu(), 1);
                NDManager m = t.newStepManager()) {
            NDArray video = m.randomUniform(-2f, 2f, new Shape(2, 3, 16, 16, 16));
            NDArray audio = m.randomUniform(-1f, 1f, new Shape(2, 1, 64, 32));
            NDArray targets = m.create(new float[] {0.5f, -0.5f, 1f, 0f, 0.25f, -1f}, new Shape(2, 3));
            float expected = t.predict(video, audio).sub(targets).square().mean().getFloat();

            float loss = t.computeGradients(m, new FinetuneBatch(video, audio, targets, 0));

            assertEquals(expected, loss, 1e-6f);
            assertTrue(t.gradientOf("head.bias", m).abs().sum().getFloat() > 0);
        }
    }

    @Test
    void resumesBitExactlyFromASavedState(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.safetensors");
        Map<String, float[]> straight;
        try (FinetuneTrainer a = new FinetuneTrainer(TINY, fullFineTune(), Device.cpu(), 1)) {
            for (int s = 0; s < 3; s++) {
                step(a, s);
            }
            straight = snapshot(a);
        }
        try (FinetuneTrainer b = new FinetuneTrainer(TINY, fullFineTune(), Device.cpu(), 1)) {
            step(b, 0);
            step(b, 1);
            TrainingStateFile.write(file, b.state(), Map.of("run", "test"));
        }
        try (FinetuneTrainer c = new FinetuneTrainer(TINY, fullFineTune(), Device.cpu(), 99);
                NDManager m = NDManager.newBaseManager()) {
            c.restore(TrainingStateFile.read(m, file), file.toString());
            assertEquals(2, c.step());
            step(c, 2);
            Map<String, float[]> resumed = snapshot(c);
            straight.forEach((k, v) -> assertArrayEquals(v, resumed.get(k), k));
        }
    }

    @Test
    void liveArrayCountStaysFlatAcrossSteps() {
        try (FinetuneTrainer t = new FinetuneTrainer(TINY, fullFineTune(), Device.cpu(), 1)) {
            NDManager owner = t.model().getParameters().get(0).getValue().getArray().getManager();
            step(t, 0);
            int after1 = owner.getManagedArrays().size();
            for (int s = 1; s < 6; s++) {
                step(t, s);
            }
            assertEquals(after1, owner.getManagedArrays().size());
        }
    }

    private static Map<String, float[]> snapshot(FinetuneTrainer t) {
        Map<String, float[]> out = new LinkedHashMap<>();
        StateDict.arrays(t.model()).forEach((k, v) -> out.put(k, v.toFloatArray()));
        return out;
    }
}
