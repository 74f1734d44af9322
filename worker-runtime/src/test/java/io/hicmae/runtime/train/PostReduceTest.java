package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.nn.Precision;
import io.hicmae.runtime.optim.AdamW;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The post-reduce order (finite check, fp16 unscale and overflow skip, clip, fused AdamW) on two in-process ranks
 * whose gradient buffers are averaged as the ring does, with a value poisoned on one rank before the reduce.
 */
class PostReduceTest {

    private static final HicmaeConfig TINY = HicmaeConfig.tiny();
    /** 1.0f with its top exponent bit flipped: +inf. */
    private static final float FLIPPED_ONE = Float.intBitsToFloat(Float.floatToRawIntBits(1.0f) ^ (1 << 30));

    private static TrainOptions options(double clip) {
        return new TrainOptions(3e-3, 1e-4, 2, 20, 256, clip, AdamW.Settings.pretraining());
    }

    private static PretrainTrainer trainer(double clip, StepPolicy policy) {
        PretrainTrainer t = new PretrainTrainer(TINY, options(clip), Device.cpu(), 1);
        t.use(policy);
        return t;
    }

    /** Forward + backward of rank {@code rank}'s batch of step {@code step}, as the loader would derive it. */
    private static StepLosses gradients(PretrainTrainer t, NDManager m, int rank, long step) {
        GeneratedClips clips = new GeneratedClips(TINY, 7, 4);
        BatchAssembler assembler = new BatchAssembler(TINY, true);
        SplittableRandom rng = new SplittableRandom(1000 + 31 * step + rank);
        List<byte[]> frames = new ArrayList<>();
        List<short[]> pcm = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            GeneratedClips.Clip c = clips.clip(rng.nextInt(16));
            frames.add(c.frames());
            pcm.add(c.pcm());
        }
        return t.computeGradients(m, assembler.assemble(m, frames, pcm, rng));
    }

    /** The mean of the ranks' buffers written into every rank's buffer (what the ring's all-reduce leaves). */
    private static void reduceMean(List<PretrainTrainer> ranks) {
        FloatBuffer first = ranks.get(0).gradients();
        for (int i = 0; i < first.limit(); i++) {
            float sum = 0;
            for (PretrainTrainer r : ranks) {
                sum += r.gradients().get(i);
            }
            for (PretrainTrainer r : ranks) {
                r.gradients().put(i, sum / ranks.size());
            }
        }
    }

    /** One data-parallel step on every rank; {@code poison} (if not null) lands in the last rank's buffer at element 5. */
    private static List<StepOutcome> step(List<PretrainTrainer> ranks, Float poison) {
        List<NDManager> managers = new ArrayList<>();
        try {
            long step = ranks.get(0).step();
            for (int r = 0; r < ranks.size(); r++) {
                NDManager m = ranks.get(r).newStepManager();
                managers.add(m);
                gradients(ranks.get(r), m, r, step);
            }
            if (poison != null) {
                ranks.get(ranks.size() - 1).gradients().put(5, poison);
            }
            reduceMean(ranks);
            List<StepOutcome> out = new ArrayList<>();
            for (int r = 0; r < ranks.size(); r++) {
                out.add(ranks.get(r).finishStep(managers.get(r)));
            }
            return out;
        } finally {
            managers.forEach(NDManager::close);
        }
    }

    private static float[] flat(AbstractTrainer<?> t, boolean withMoments) {
        List<float[]> parts = new ArrayList<>();
        t.state().parameters().values().forEach(a -> parts.add(a.toFloatArray()));
        if (withMoments) {
            t.state().moments().forEach((k, a) -> {
                if (k.startsWith("m.") || k.startsWith("v.")) {
                    parts.add(a.toFloatArray());
                }
            });
        }
        int n = parts.stream().mapToInt(p -> p.length).sum();
        float[] out = new float[n];
        int o = 0;
        for (float[] p : parts) {
            System.arraycopy(p, 0, out, o, p.length);
            o += p.length;
        }
        return out;
    }

    @Test
    void fusedAdamWMatchesTheEngineOperations() {
        // With clipping, so the fused update's gradient multiplier is exercised too.
        try (PretrainTrainer ops = trainer(0.05, StepPolicy.defaults().withOptimizer(StepPolicy.OptimizerKind.OPS));
                PretrainTrainer fused = trainer(0.05, StepPolicy.defaults())) {
            float[] start = flat(ops, false);
            for (int s = 0; s < 3; s++) {
                step(List.of(ops), null);
                step(List.of(fused), null);
            }
            float[] a = flat(ops, true);
            float[] b = flat(fused, true);
            double worst = 0;
            double moved = 0;
            for (int i = 0; i < a.length; i++) {
                worst = Math.max(worst, Math.abs(a[i] - b[i]));
            }
            for (int i = 0; i < start.length; i++) {
                moved = Math.max(moved, Math.abs(a[i] - start[i]));
            }
            System.out.printf("fused vs engine AdamW after 3 steps: max difference %.3g (largest update %.3g)%n",
                    worst, moved);
            assertTrue(moved > 1e-4, "the parameters moved");
            assertTrue(worst < 1e-6, "fused and engine AdamW differ by " + worst);
        }
    }

    @Test
    void aNaNOrAFlippedExponentBitOnOneRankIsSkippedByEveryRank() {
        for (float poison : new float[] {Float.NaN, FLIPPED_ONE}) {
            try (PretrainTrainer r0 = trainer(0, StepPolicy.defaults());
                    PretrainTrainer r1 = trainer(0, StepPolicy.defaults())) {
                List<PretrainTrainer> ranks = List.of(r0, r1);
                step(ranks, null);
                float[] before0 = flat(r0, true);
                float[] before1 = flat(r1, true);
                List<StepOutcome> poisoned = step(ranks, poison);
                for (StepOutcome o : poisoned) {
                    assertEquals(StepOutcome.Skip.NONFINITE, o.skip(), "poison " + poison);
                    assertFalse(Double.isFinite(o.gradNorm()));
                    assertNull(o.finiteNormOrNull());
                    assertEquals(1, o.skippedSteps());
                }
                assertArrayEquals(before0, flat(r0, true), "rank 0 unchanged by the skipped step");
                assertArrayEquals(before1, flat(r1, true), "rank 1 unchanged by the skipped step");
                assertEquals(2, r0.step(), "the skipped step still consumes its batch");
                List<StepOutcome> next = step(ranks, null);
                assertTrue(next.get(0).applied() && next.get(1).applied());
                assertArrayEquals(flat(r0, true), flat(r1, true), "ranks agree after the skip");
            }
        }
    }

    @Test
    void tooManyNonFiniteStepsInARowFailNamingTheStepAndParameter() {
        try (PretrainTrainer r0 = trainer(0.5, StepPolicy.defaults().withMaxNonFiniteSteps(1));
                PretrainTrainer r1 = trainer(0.5, StepPolicy.defaults().withMaxNonFiniteSteps(1))) {
            List<PretrainTrainer> ranks = List.of(r0, r1);
            step(ranks, Float.NaN); // one is skipped
            step(ranks, null); // a clean step resets the run
            step(ranks, Float.NaN);
            NonFiniteGradientsException e = assertThrows(NonFiniteGradientsException.class,
                    () -> step(ranks, FLIPPED_ONE));
            String first = r0.parameterKeys().get(0);
            assertEquals(3, e.step());
            assertEquals(first, e.parameter());
            assertTrue(e.getMessage().contains("step 4") && e.getMessage().contains(first), e.getMessage());
        }
    }

    @Test
    void fp16OverflowIsSkippedByTheScalerHalvesTheScaleAndDoesNotCountAsNonFinite() {
        StepPolicy policy = StepPolicy.defaults().withPrecision(Precision.FP16).withMaxNonFiniteSteps(0);
        policy = new StepPolicy(policy.precision(), 0, new LossScaler.Settings(1e38, 2, 0.5, 2),
                policy.optimizer());
        try (PretrainTrainer t = trainer(0, policy)) {
            float[] before = flat(t, true);
            StepOutcome o = step(List.of(t), null).get(0);
            assertEquals(StepOutcome.Skip.OVERFLOW, o.skip(), "a loss scaled by 1e38 overflows in fp16");
            assertEquals(1e38, o.lossScale());
            assertEquals(5e37, t.lossScale());
            assertArrayEquals(before, flat(t, true));
            // The scale keeps halving until the backward pass fits, then the step applies.
            StepOutcome last = o;
            for (int s = 0; s < 150 && !last.applied(); s++) {
                last = step(List.of(t), null).get(0);
            }
            assertTrue(last.applied(), "no clean step after halving the scale 150 times");
            assertTrue(Double.isFinite(last.gradNorm()) && last.gradNorm() > 0);
            assertTrue(last.lossScale() < 1e38);
        }
    }

    @Test
    void lossScaleAndOptimiserCountResumeBitExactly(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.safetensors");
        StepPolicy policy = new StepPolicy(Precision.FP32, 5, LossScaler.Settings.gradScaler(),
                StepPolicy.OptimizerKind.FUSED);
        float[] straight;
        try (PretrainTrainer a = trainer(0, policy)) {
            step(List.of(a), null);
            step(List.of(a), Float.NaN);
            step(List.of(a), null);
            step(List.of(a), null);
            straight = flat(a, true);
        }
        try (PretrainTrainer b = trainer(0, policy)) {
            step(List.of(b), null);
            step(List.of(b), Float.NaN);
            TrainingStateFile.write(file, b.state(), Map.of("run", "test"));
        }
        try (PretrainTrainer c = trainer(0, policy); NDManager m = NDManager.newBaseManager()) {
            c.restore(TrainingStateFile.read(m, file), file.toString());
            assertEquals(2, c.step());
            assertEquals(1, c.skippedSteps());
            step(List.of(c), null);
            step(List.of(c), null);
            assertArrayEquals(straight, flat(c, true));
        }
    }

    @Test
    void fp16LossScaleIsInTheCheckpoint(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.safetensors");
        StepPolicy policy = new StepPolicy(Precision.FP16, 5, new LossScaler.Settings(1e38, 2, 0.5, 2000),
                StepPolicy.OptimizerKind.FUSED);
        try (PretrainTrainer b = trainer(0, policy)) {
            step(List.of(b), null); // overflow: 1e38 -> 5e37
            TrainingStateFile.write(file, b.state(), Map.of());
        }
        try (PretrainTrainer c = trainer(0, policy); NDManager m = NDManager.newBaseManager()) {
            c.restore(TrainingStateFile.read(m, file), file.toString());
            assertEquals(5e37, c.lossScale());
            Map<String, NDArray> saved = TrainingStateFile.read(m, file).moments();
            assertTrue(saved.containsKey(AbstractTrainer.SCALE_KEY));
        }
    }
}
