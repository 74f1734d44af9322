package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.optim.AdamW;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PretrainTrainerTest {

    private static final HicmaeConfig TINY = HicmaeConfig.tiny();

    private static TrainOptions options(long totalSteps) {
        return new TrainOptions(3e-3, 1e-4, 5, totalSteps, 256, 0, AdamW.Settings.pretraining());
    }

    /** Runs steps [from, to) with batches derived from (seed, step) only, as the real loader does. */
    private static List<StepLosses> train(PretrainTrainer trainer, int from, int to, int batch) {
        GeneratedClips clips = new GeneratedClips(TINY, 7, 4);
        BatchAssembler assembler = new BatchAssembler(TINY, true);
        List<StepLosses> out = new ArrayList<>();
        for (int s = from; s < to; s++) {
            SplittableRandom rng = new SplittableRandom(1000 + s);
            List<byte[]> frames = new ArrayList<>();
            List<short[]> pcm = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                GeneratedClips.Clip c = clips.clip(rng.nextInt(16));
                frames.add(c.frames());
                pcm.add(c.pcm());
            }
            try (NDManager step = trainer.newStepManager()) {
                PretrainBatch b = assembler.assemble(step, frames, pcm, rng);
                out.add(trainer.computeGradients(step, b));
                trainer.applyGradients(step);
            }
        }
        return out;
    }

    private static float mean(List<StepLosses> l, int from, int to, java.util.function.ToDoubleFunction<StepLosses> f) {
        double s = 0;
        for (int i = from; i < to; i++) {
            s += f.applyAsDouble(l.get(i));
        }
        return (float) (s / (to - from));
    }

    @Test
    void shortRunLowersTheReconstructionAndContrastiveLosses() {
        try (PretrainTrainer t = new PretrainTrainer(TINY, options(60), Device.cpu(), 1)) {
            List<StepLosses> l = train(t, 0, 60, 4);
            float v0 = mean(l, 0, 5, StepLosses::video);
            float v1 = mean(l, 55, 60, StepLosses::video);
            float a0 = mean(l, 0, 5, StepLosses::audio);
            float a1 = mean(l, 55, 60, StepLosses::audio);
            float c0 = mean(l, 0, 5, StepLosses::contrastive);
            float c1 = mean(l, 55, 60, StepLosses::contrastive);
            System.out.printf("video %.4f -> %.4f, audio %.4f -> %.4f, contrastive %.4f -> %.4f%n", v0, v1, a0, a1, c0, c1);
            assertTrue(v1 < v0, "video loss " + v0 + " -> " + v1);
            assertTrue(a1 < a0, "audio loss " + a0 + " -> " + a1);
            assertTrue(c1 < c0, "contrastive loss " + c0 + " -> " + c1);
        }
    }

    @Test
    void resumesBitExactlyFromASavedState(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.safetensors");
        float[] straight;
        try (PretrainTrainer a = new PretrainTrainer(TINY, options(10), Device.cpu(), 1)) {
            train(a, 0, 4, 2);
            straight = flatParameters(a);
        }
        try (PretrainTrainer b = new PretrainTrainer(TINY, options(10), Device.cpu(), 1)) {
            train(b, 0, 2, 2);
            TrainingStateFile.write(file, b.state(), Map.of("run", "test"));
        }
        try (PretrainTrainer c = new PretrainTrainer(TINY, options(10), Device.cpu(), 99);
                NDManager m = NDManager.newBaseManager()) {
            c.restore(TrainingStateFile.read(m, file), file.toString());
            assertEquals(2, c.step());
            train(c, 2, 4, 2);
            assertArrayEquals(straight, flatParameters(c));
        }
    }

    @Test
    void liveArrayCountStaysFlatAcrossSteps() {
        try (PretrainTrainer t = new PretrainTrainer(TINY, options(40), Device.cpu(), 1)) {
            train(t, 0, 3, 2);
            int after3 = liveArrays(t);
            train(t, 3, 30, 2);
            assertEquals(after3, liveArrays(t), "arrays owned by the trainer's manager after 3 and after 30 steps");
        }
    }

    @Test
    void gradientBufferHoldsEveryParameterInOrder() {
        try (PretrainTrainer t = new PretrainTrainer(TINY, options(10), Device.cpu(), 1)) {
            assertEquals(257_696, t.parameterCount());
            train(t, 0, 1, 2);
            assertEquals(t.parameterCount(), t.gradients().limit());
            assertTrue(t.gradientNorm() > 0);
        }
    }

    @Test
    void rejectsAStateWithAMissingMoment(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.safetensors");
        try (PretrainTrainer t = new PretrainTrainer(TINY, options(10), Device.cpu(), 1);
                NDManager m = NDManager.newBaseManager()) {
            TrainingState s = t.state();
            Map<String, NDArray> moments = new java.util.LinkedHashMap<>(s.moments());
            moments.remove("m.encoder.norm.weight");
            TrainingStateFile.write(file, new TrainingState(s.parameters(), moments, 3), Map.of());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> t.restore(TrainingStateFile.read(m, file), file.toString()));
            assertTrue(e.getMessage().contains("m.encoder.norm.weight"), e.getMessage());
            assertEquals(0, t.step());
        }
    }

    private static int liveArrays(PretrainTrainer t) {
        return countArrays(t.model().getParameters().get(0).getValue().getArray().getManager());
    }

    private static int countArrays(NDManager m) {
        return m.getManagedArrays().size();
    }

    private static float[] flatParameters(PretrainTrainer t) {
        List<float[]> parts = new ArrayList<>();
        int n = 0;
        for (NDArray a : t.state().parameters().values()) {
            float[] f = a.toFloatArray();
            parts.add(f);
            n += f.length;
        }
        float[] out = new float[n];
        int o = 0;
        for (float[] f : parts) {
            System.arraycopy(f, 0, out, o, f.length);
            o += f.length;
        }
        return out;
    }
}
