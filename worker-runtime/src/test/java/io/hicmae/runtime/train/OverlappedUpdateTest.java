package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.allreduce.WireDtype;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.optim.AdamW;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The optimiser overlapped with the bucketed all-reduce ({@link OverlappedUpdate}) against the plain post-reduce
 * order on two ranks over loopback rings: each rank runs a plain and an overlapped tiny-preset trainer from the same
 * seed; the plain one computes the step's gradients and the overlapped one gets a copy, then each goes through its
 * own path (plain all-reduce + {@link AbstractTrainer#finishStep}, or {@link OverlappedUpdate#reduce} +
 * {@link OverlappedUpdate#finish}). Parameters, moments, norms and outcomes must match bit for bit after every step,
 * whether the speculative updates stand (no clipping), are taken back (clipping, a non-finite step) or are not made
 * (the step after a clipped one).
 */
class OverlappedUpdateTest {

    private static final HicmaeConfig TINY = HicmaeConfig.tiny();
    /** 0.1 MB buckets: 25,000 floats, so the tiny preset's 257,696 gradients travel in 11 buckets. */
    private static final double BUCKET_MB = 0.1;

    private static PretrainTrainer trainer(double clip, StepPolicy policy) {
        PretrainTrainer t = new PretrainTrainer(TINY,
                new TrainOptions(3e-3, 1e-4, 2, 20, 256, clip, AdamW.Settings.pretraining()), Device.cpu(), 1);
        t.use(policy);
        return t;
    }

    /** What one rank saw in one step: both trainers' outcomes and whether the overlapped update stood. */
    private record Seen(StepOutcome plain, StepOutcome overlapped, boolean speculative, boolean kept, int buckets) {}

    @Test
    void withoutClippingTheUpdatesMadeWhileBucketsArriveStandAndMatchThePlainStepBitForBit() throws Exception {
        List<List<Seen>> seen = twoRanks(0, 3, -1);
        for (List<Seen> rank : seen) {
            for (Seen s : rank) {
                assertEquals(11, s.buckets());
                assertTrue(s.speculative() && s.kept(), "every unclipped step keeps its overlapped update: " + s);
                assertNull(s.plain().skip());
            }
        }
    }

    @Test
    void clippingOrANonFiniteStepTakesTheOverlappedUpdateBackAndStillMatchesThePlainStep() throws Exception {
        // A clip far below the tiny model's gradient norm: every step clips. Step 2 (0-based) is poisoned with NaN.
        List<List<Seen>> seen = twoRanks(1e-3, 4, 2);
        for (List<Seen> rank : seen) {
            assertTrue(rank.get(0).speculative() && !rank.get(0).kept(), "step 1 speculated, then clipped: taken back");
            assertTrue(rank.get(0).plain().gradNorm() > 1e-3, "the clip triggered");
            assertFalse(rank.get(1).speculative(), "after a clipped step the next one does not speculate");
            assertEquals(StepOutcome.Skip.NONFINITE, rank.get(2).overlapped().skip());
            assertFalse(rank.get(3).speculative(), "nor after a skipped one");
        }
    }

    @Test
    void aNonFiniteStepAfterACleanOneIsTakenBack() throws Exception {
        List<List<Seen>> seen = twoRanks(0, 3, 1);
        for (List<Seen> rank : seen) {
            assertTrue(rank.get(0).kept());
            assertTrue(rank.get(1).speculative() && !rank.get(1).kept(), "speculated until the NaN bucket");
            assertEquals(StepOutcome.Skip.NONFINITE, rank.get(1).overlapped().skip());
            assertFalse(rank.get(2).speculative());
        }
    }

    /**
     * {@code steps} steps on two ranks, poisoning rank 1's gradient 100,000 (bucket 4) with NaN at step
     * {@code poisonStep} (-1: never); asserts the plain and overlapped trainers agree after every step.
     */
    private static List<List<Seen>> twoRanks(double clip, int steps, int poisonStep) throws Exception {
        return LoopbackRing.run(2, WireDtype.FP32, (rank, ring) -> {
            List<Seen> seen = new ArrayList<>();
            try (PretrainTrainer plain = trainer(clip, StepPolicy.defaults().withMaxNonFiniteSteps(5));
                    PretrainTrainer over = trainer(clip,
                            StepPolicy.defaults().withMaxNonFiniteSteps(5).withOverlapBucketMb(BUCKET_MB))) {
                assertArrayEquals(InProcessRanks.flat(plain, true), InProcessRanks.flat(over, true));
                for (int s = 0; s < steps; s++) {
                    try (NDManager m = plain.newStepManager(); NDManager mo = over.newStepManager()) {
                        InProcessRanks.gradients(plain, m, rank, s);
                        if (rank == 1 && s == poisonStep) {
                            plain.gradients().put(100_000, Float.NaN);
                        }
                        float[] g = new float[plain.gradients().limit()];
                        plain.gradients().get(0, g);
                        over.gradients().put(0, g);
                        ring.allReduceMean(plain.gradientBytes(), 2L * s);
                        StepOutcome a = plain.finishStep(m);
                        OverlappedUpdate u = over.overlappedUpdate();
                        assertNotNull(u, "overlap is on in the policy");
                        u.reduce(ring, 2L * s + 1);
                        float[] reducedPlain = new float[g.length];
                        float[] reducedOver = new float[g.length];
                        plain.gradients().get(0, reducedPlain);
                        over.gradients().get(0, reducedOver);
                        assertArrayEquals(reducedPlain, reducedOver, "both rings reduce to the same bits");
                        StepOutcome b = u.finish(mo);
                        assertEquals(a, b, "step " + s + " outcome");
                        assertArrayEquals(InProcessRanks.flat(plain, true), InProcessRanks.flat(over, true),
                                "rank " + rank + " step " + s + ": parameters and moments");
                        assertEquals(plain.state().moments().get(AbstractTrainer.COUNTERS_KEY).toLongArray()[0],
                                over.state().moments().get(AbstractTrainer.COUNTERS_KEY).toLongArray()[0],
                                "AdamW step count");
                        seen.add(new Seen(a, b, u.speculative(), u.kept(), u.bucketEnds().length));
                    }
                }
            }
            return seen;
        });
    }
}
