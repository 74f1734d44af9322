package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.hicmae.runtime.allreduce.AllReduceException;
import io.hicmae.runtime.allreduce.WireDtype;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.loss.PretrainLoss;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.model.Trace;
import io.hicmae.runtime.optim.AdamW;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The pre-training backward pass in stages (cut after every encoder block) and the gradient all-reduce that runs
 * beside it ({@link OverlappedUpdate#reduceDuringBackward}): the stages give one backward call's gradients, each stage
 * finishes exactly its own parameters, which lie in buffer order, and two ranks that reduce during the backward pass
 * end bit-identical to two that reduce after it; a backward pass that fails mid-way fails both ranks and changes no
 * parameter.
 */
class StagedBackwardTest {

    private static final HicmaeConfig TINY = HicmaeConfig.tiny();

    private static PretrainTrainer trainer(StepPolicy policy) {
        PretrainTrainer t = new PretrainTrainer(TINY,
                new TrainOptions(3e-3, 1e-4, 2, 20, 256, 0, AdamW.Settings.pretraining()), Device.cpu(), 1);
        t.use(policy);
        return t;
    }

    private static PretrainBatch batch(NDManager m, long seed) {
        return InProcessRanks.batch(m, seed);
    }

    @Test
    void theStagesGiveTheGradientsOfOneBackwardCall() {
        try (PretrainTrainer staged = trainer(StepPolicy.defaults());
                PretrainTrainer oneCall = trainer(StepPolicy.defaults());
                NDManager m = staged.newStepManager();
                NDManager mo = oneCall.newStepManager()) {
            staged.computeGradients(m, batch(m, 5));
            PretrainBatch b = batch(mo, 5);
            PretrainLoss loss = Autograd.record(() ->
                    PretrainLoss.compute(TINY, b, oneCall.model.forward(oneCall.store, b, true, Trace.OFF)));
            Autograd.backward(loss.total());
            Map<String, ai.djl.nn.Parameter> params = StateDict.parameters(oneCall.model());
            double worst = 0;
            for (String key : staged.parameterKeys()) {
                float[] want = params.get(key).getArray().getGradient().toFloatArray();
                float[] got = staged.gradientOf(key, m).toFloatArray();
                double scale = 0;
                for (float w : want) {
                    scale = Math.max(scale, Math.abs(w));
                }
                assertTrue(scale > 0, key + " has a gradient");
                for (int i = 0; i < want.length; i++) {
                    worst = Math.max(worst, Math.abs(got[i] - want[i]) / scale);
                }
            }
            // The same sums in another order: float rounding only.
            System.out.printf("staged vs one-call backward: largest relative gradient difference %.2e%n", worst);
            assertTrue(worst < 1e-5, "largest difference relative to the parameter's largest gradient: " + worst);
        }
    }

    @Test
    void eachStageFinishesExactlyItsParametersWhichFollowTheEarlierStagesInTheBuffer() {
        try (PretrainTrainer t = trainer(StepPolicy.defaults()); NDManager m = t.newStepManager()) {
            List<String> keys = t.parameterKeys();
            Map<String, ai.djl.nn.Parameter> params = StateDict.parameters(t.model());
            List<Long> offsets = new ArrayList<>();
            long o = 0;
            for (String k : keys) {
                offsets.add(o);
                o += params.get(k).getShape().size();
            }
            offsets.add(o);
            // The head first; the encoders' blocks from the deepest; the video encoder's patch embedding last.
            assertFalse(keys.get(0).contains(".blocks.") && keys.get(0).startsWith("encoder"), keys.get(0));
            int depth = TINY.depthAudio();
            assertTrue(keys.stream().filter(k -> k.startsWith("encoder_audio.blocks." + (depth - 1) + "."))
                    .allMatch(k -> keys.indexOf(k) < keys.indexOf("encoder_audio.blocks.0.norm1.weight")));
            assertTrue(keys.get(keys.size() - 1).startsWith("encoder.patch_embed.")
                    || keys.get(keys.size() - 1).startsWith("encoder.blocks.0."), keys.get(keys.size() - 1));

            PretrainTrainer.Forward f = t.forward(m, batch(m, 9));
            List<Integer> ends = new ArrayList<>();
            f.backward().run(end -> {
                // Everything before the end is collected (its gradient zeroed, so defined); nothing after it has
                // a gradient yet: this is the first backward pass of a fresh trainer.
                for (int k = 0; k < keys.size(); k++) {
                    boolean done = offsets.get(k + 1) <= end;
                    PtNDArray g = JniUtils.getGradient((PtNDArray) params.get(keys.get(k)).getArray());
                    assertEquals(done, g != null, keys.get(k) + " at written end " + end);
                    if (g != null) {
                        g.close();
                    }
                }
                assertTrue(offsets.contains((long) end), "a stage ends on a parameter boundary: " + end);
                ends.add(end);
            });
            int cuts = TINY.depth() + TINY.depthAudio();
            assertEquals(cuts + 1, ends.size(), "one stage for the head and one per encoder block");
            for (int i = 1; i < ends.size(); i++) {
                assertTrue(ends.get(i) > ends.get(i - 1), "ends grow: " + ends);
            }
            assertEquals(t.parameterCount(), (long) ends.get(ends.size() - 1));
            assertThrows(IllegalStateException.class, () -> f.backward().run(end -> { }), "runs once");
        }
    }

    @Test
    void reducingDuringTheBackwardPassMatchesReducingAfterItBitForBit() throws Exception {
        List<Integer> reducedDuring = LoopbackRing.run(2, WireDtype.FP32, (rank, ring) -> {
            StepPolicy policy = StepPolicy.defaults().withOverlapBucketMb(0.1); // 11 buckets of the tiny preset
            try (PretrainTrainer after = trainer(StepPolicy.defaults()); PretrainTrainer during = trainer(policy)) {
                int overlapped = 0;
                for (int s = 0; s < 3; s++) {
                    try (NDManager m = after.newStepManager(); NDManager md = during.newStepManager()) {
                        StepLosses a = after.computeGradients(m, batch(m, 100 + 10 * s + rank));
                        ring.allReduceMean(after.gradientBytes(), 2L * s);
                        StepOutcome outA = after.finishStep(m);

                        PretrainTrainer.Forward f = during.forward(md, batch(md, 100 + 10 * s + rank));
                        assertEquals(a.total(), f.losses().total(), "the same forward pass");
                        OverlappedUpdate u = during.overlappedUpdate();
                        assertNotNull(u);
                        u.reduceDuringBackward(ring, 2L * s + 1, f.backward());
                        StepOutcome outD = u.finish(md);
                        assertEquals(outA, outD, "step " + s);
                        overlapped += u.kept() ? 1 : 0;
                        assertArrayEquals(InProcessRanks.flat(after, true), InProcessRanks.flat(during, true),
                                "rank " + rank + " step " + s + ": parameters and moments");
                    }
                }
                return overlapped;
            }
        });
        assertEquals(List.of(3, 3), reducedDuring, "every step kept the updates made while buckets arrived");
    }

    @Test
    void aBackwardPassThatFailsMidwayFailsBothRanksAndChangesNoParameter() throws Exception {
        List<Throwable> failures = LoopbackRing.run(2, WireDtype.FP32, (rank, ring) -> {
            StepPolicy policy = StepPolicy.defaults().withOverlapBucketMb(0.1);
            try (PretrainTrainer t = trainer(policy); NDManager m = t.newStepManager()) {
                float[] before = InProcessRanks.flat(t, true);
                PretrainTrainer.Forward f = t.forward(m, batch(m, 40 + rank));
                OverlappedUpdate u = t.overlappedUpdate();
                PendingBackward failing = written -> f.backward().run(end -> {
                    written.accept(end);
                    if (rank == 1 && end > t.parameterCount() / 2) {
                        throw new IllegalStateException("injected failure in the backward pass");
                    }
                });
                Throwable thrown = assertThrows(Exception.class, () -> u.reduceDuringBackward(ring, 1, failing));
                assertArrayEquals(before, InProcessRanks.flat(t, true), "rank " + rank + ": nothing changed");
                return thrown;
            }
        });
        assertInstanceOf(AllReduceException.class, failures.get(0), "rank 0 sees its neighbour drop");
        assertInstanceOf(IllegalStateException.class, failures.get(1));
        assertEquals("injected failure in the backward pass", failures.get(1).getMessage());
    }

    @Test
    void theGateWaitsForTheWrittenFloatsWithinItsDeadline() throws Exception {
        WrittenFloats written = new WrittenFloats(Duration.ofMillis(200));
        written.publish(100);
        written.awaitWritten(100); // returns at once
        AllReduceException late = assertThrows(AllReduceException.class, () -> written.awaitWritten(101));
        assertTrue(late.getMessage().contains("wrote 100 of the 101") && late.getMessage().contains("io-timeout"),
                late.getMessage());
        Thread publisher = new Thread(() -> {
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                return;
            }
            written.publish(500);
        });
        publisher.start();
        written.awaitWritten(400);
        publisher.join();
        written.fail(new IllegalStateException("boom"));
        AllReduceException failed = assertThrows(AllReduceException.class, () -> written.awaitWritten(600));
        assertTrue(failed.getMessage().contains("backward pass failed") && failed.getMessage().contains("boom"),
                failed.getMessage());
    }
}
