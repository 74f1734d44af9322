package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.nn.Precision;
import io.hicmae.runtime.optim.AdamW;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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

    private static float[] flat(AbstractTrainer<?> t, boolean withMoments) {
        return InProcessRanks.flat(t, withMoments);
    }

    @Test
    void fusedAdamWMatchesTheEngineOperations() {
        // With clipping, so the fused update's gradient multiplier is exercised too.
        try (PretrainTrainer ops = trainer(0.05, StepPolicy.defaults().withOptimizer(StepPolicy.OptimizerKind.OPS));
                PretrainTrainer fused = trainer(0.05, StepPolicy.defaults())) {
            float[] start = flat(ops, false);
            for (int s = 0; s < 3; s++) {
                InProcessRanks.step(List.of(ops), null);
                InProcessRanks.step(List.of(fused), null);
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
                InProcessRanks.step(ranks, null);
                float[] before0 = flat(r0, true);
                float[] before1 = flat(r1, true);
                List<StepOutcome> poisoned = InProcessRanks.step(ranks, poison);
                for (StepOutcome o : poisoned) {
                    assertEquals(StepOutcome.Skip.NONFINITE, o.skip(), "poison " + poison);
                    assertFalse(Double.isFinite(o.gradNorm()));
                    assertNull(o.finiteNormOrNull());
                    assertEquals(1, o.skippedSteps());
                }
                assertArrayEquals(before0, flat(r0, true), "rank 0 unchanged by the skipped step");
                assertArrayEquals(before1, flat(r1, true), "rank 1 unchanged by the skipped step");
                assertEquals(2, r0.step(), "the skipped step still consumes its batch");
                List<StepOutcome> next = InProcessRanks.step(ranks, null);
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
            InProcessRanks.step(ranks, Float.NaN); // one is skipped
            InProcessRanks.step(ranks, null); // a clean step resets the run
            InProcessRanks.step(ranks, Float.NaN);
            NonFiniteGradientsException e = assertThrows(NonFiniteGradientsException.class,
                    () -> InProcessRanks.step(ranks, FLIPPED_ONE));
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
            StepOutcome o = InProcessRanks.step(List.of(t), null).get(0);
            assertEquals(StepOutcome.Skip.OVERFLOW, o.skip(), "a loss scaled by 1e38 overflows in fp16");
            assertEquals(1e38, o.lossScale());
            assertEquals(5e37, t.lossScale());
            assertArrayEquals(before, flat(t, true));
            StepOutcome again = InProcessRanks.step(List.of(t), null).get(0);
            assertEquals(StepOutcome.Skip.OVERFLOW, again.skip());
            assertEquals(2.5e37, t.lossScale(), "halved again");
            assertEquals(2, t.skippedSteps(), "both counted as skips, neither toward max-nonfinite-steps (0)");
        }
    }

    @Test
    void lossScalerGrowsAfterItsIntervalOfCleanSteps() {
        LossScaler s = new LossScaler(new LossScaler.Settings(1024, 2, 0.5, 3));
        s.update(true);
        s.update(true);
        assertEquals(1024, s.scale());
        s.update(true);
        assertEquals(2048, s.scale(), "x2 after 3 clean steps");
        s.update(true);
        s.update(false);
        assertEquals(1024, s.scale(), "x0.5 on an overflow");
        assertEquals(0, s.cleanSteps(), "an overflow restarts the interval");
        assertThrows(IllegalArgumentException.class, () -> new LossScaler.Settings(0, 2, 0.5, 3));
    }

    @Test
    void lossScaleAndOptimiserCountResumeBitExactly(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.safetensors");
        StepPolicy policy = new StepPolicy(Precision.FP32, 5, LossScaler.Settings.gradScaler(),
                StepPolicy.OptimizerKind.FUSED);
        float[] straight;
        try (PretrainTrainer a = trainer(0, policy)) {
            InProcessRanks.step(List.of(a), null);
            InProcessRanks.step(List.of(a), Float.NaN);
            InProcessRanks.step(List.of(a), null);
            InProcessRanks.step(List.of(a), null);
            straight = flat(a, true);
        }
        try (PretrainTrainer b = trainer(0, policy)) {
            InProcessRanks.step(List.of(b), null);
            InProcessRanks.step(List.of(b), Float.NaN);
            TrainingStateFile.write(file, b.state(), Map.of("run", "test"));
        }
        try (PretrainTrainer c = trainer(0, policy); NDManager m = NDManager.newBaseManager()) {
            c.restore(TrainingStateFile.read(m, file), file.toString());
            assertEquals(2, c.step());
            assertEquals(1, c.skippedSteps());
            InProcessRanks.step(List.of(c), null);
            InProcessRanks.step(List.of(c), null);
            assertArrayEquals(straight, flat(c, true));
        }
    }

    @Test
    void fp16LossScaleIsInTheCheckpoint(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("state.safetensors");
        StepPolicy policy = new StepPolicy(Precision.FP16, 5, new LossScaler.Settings(1e38, 2, 0.5, 2000),
                StepPolicy.OptimizerKind.FUSED);
        try (PretrainTrainer b = trainer(0, policy)) {
            InProcessRanks.step(List.of(b), null); // overflow: 1e38 -> 5e37
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
