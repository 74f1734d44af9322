package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.hicmae.runtime.allreduce.AllReduceException;
import io.hicmae.runtime.allreduce.WireDtype;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.finetune.FinetuneBatch;
import io.hicmae.runtime.finetune.FinetuneOptions;
import io.hicmae.runtime.finetune.FinetuneTrainer;
import io.hicmae.runtime.finetune.Task;
import io.hicmae.runtime.loss.SoftTargetCrossEntropy;
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
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backward pass in stages (cut after every encoder block; pre-training and fine-tuning) and the gradient
 * all-reduce that runs beside it ({@link OverlappedUpdate#reduceDuringBackward}): the stages give one backward call's gradients, each stage
 * finishes exactly its own parameters, which lie in buffer order, and two ranks that reduce during the backward pass
 * (and three) end bit-identical to ranks that reduce after it; a backward pass that fails mid-way fails both ranks and changes no
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
            double worst = worstRelativeDifference(staged, m, oneCall);
            // The same sums in another order: float rounding only.
            System.out.printf("staged vs one-call backward: largest relative gradient difference %.2e%n", worst);
            assertTrue(worst < 1e-5, "largest difference relative to the parameter's largest gradient: " + worst);
        }
    }

    /**
     * The largest difference between {@code staged}'s gradient buffer and the gradients one backward call left in
     * {@code oneCall}'s parameters, relative to each parameter's largest gradient.
     */
    private static double worstRelativeDifference(AbstractTrainer<?> staged, NDManager m, AbstractTrainer<?> oneCall) {
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
        return worst;
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
        assertEquals(List.of(3, 3), pretrainBesideVersusAfter(2),
                "every step kept the updates made while buckets arrived");
    }

    @Test
    void threeRanksReducingDuringTheBackwardPassMatchReducingAfterIt() throws Exception {
        // An odd ring: every bucket splits into three uneven chunks, each rank waiting on its own backward pass.
        assertEquals(List.of(3, 3, 3), pretrainBesideVersusAfter(3));
    }

    private static List<Integer> pretrainBesideVersusAfter(int ranks) throws Exception {
        return reduceBesideVersusAfter(ranks, StagedBackwardTest::trainer,
                (t, m, seed) -> t.computeGradients(m, batch(m, seed)).total(),
                (t, m, seed) -> {
                    PretrainTrainer.Forward f = t.forward(m, batch(m, seed));
                    return new LossAndBackward(f.losses().total(), f.backward());
                });
    }

    /** A step's loss by one path. */
    private interface Compute<T> {
        float loss(T trainer, NDManager m, long seed);
    }

    private record LossAndBackward(float loss, PendingBackward backward) {}

    /** A step's forward pass, its backward pass still to run. */
    private interface Forward<T> {
        LossAndBackward run(T trainer, NDManager m, long seed);
    }

    /**
     * {@code ranks} ranks, each with two trainers whose all-reduce runs in the same 0.1 MB buckets (11 for the tiny
     * preset), one after its backward pass and one beside it; 3 steps on the same batches: parameters, moments and
     * outcomes must match bit for bit after every step. (The same buckets matter from 3 ranks on: a bucket's chunk
     * boundaries decide in which order the ring adds an element's 3 or more terms. With 2 ranks the bucketed and the
     * plain all-reduce agree too, see {@link OverlappedUpdateTest}.) Returns, per rank, how many steps kept the
     * updates made while buckets arrived.
     */
    private static <T extends AbstractTrainer<?>> List<Integer> reduceBesideVersusAfter(int ranks,
            java.util.function.Function<StepPolicy, T> make, Compute<T> compute, Forward<T> forward)
            throws Exception {
        StepPolicy buckets = StepPolicy.defaults().withOverlapBucketMb(0.1);
        return LoopbackRing.run(ranks, WireDtype.FP32, (rank, ring) -> {
            try (T after = make.apply(buckets); T during = make.apply(buckets)) {
                int overlapped = 0;
                for (int s = 0; s < 3; s++) {
                    long seed = 100 + 10 * s + rank;
                    try (NDManager m = after.newStepManager(); NDManager md = during.newStepManager()) {
                        float a = compute.loss(after, m, seed);
                        OverlappedUpdate ua = after.overlappedUpdate();
                        ua.reduce(ring, 2L * s);
                        StepOutcome outA = ua.finish(m);

                        LossAndBackward f = forward.run(during, md, seed);
                        assertEquals(a, f.loss(), "the same forward pass");
                        OverlappedUpdate u = during.overlappedUpdate();
                        assertNotNull(u);
                        u.reduceDuringBackward(ring, 2L * s + 1, f.backward());
                        assertEquals(outA, u.finish(md), "step " + s);
                        overlapped += u.kept() ? 1 : 0;
                        assertArrayEquals(InProcessRanks.flat(after, true), InProcessRanks.flat(during, true),
                                "rank " + rank + " step " + s + ": parameters and moments");
                    }
                }
                return overlapped;
            }
        });
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

    /** Upstream's fine-tuning recipe (stochastic depth 0.1, seeded per batch), or without stochastic depth. */
    private static FinetuneTrainer finetuner(StepPolicy policy, boolean dropPath) {
        FinetuneOptions r = FinetuneOptions.recipe(Task.classification(5), 2, 10, 2);
        FinetuneOptions o = dropPath ? r : new FinetuneOptions(r.task(), r.baseLr(), r.minLr(), r.warmupSteps(),
                r.totalSteps(), r.globalBatch(), r.adamw(), r.layerDecay(), 0f, r.smoothing(), r.mixup(), false);
        FinetuneTrainer t = new FinetuneTrainer(TINY, o, Device.cpu(), 1);
        t.use(policy);
        return t;
    }

    /** A fine-tuning batch of 2 random clips with soft targets, drawn from {@code seed}. */
    private static FinetuneBatch finetuneBatch(NDManager m, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        float[] video = new float[2 * 3 * 16 * 16 * 16];
        float[] audio = new float[2 * 64 * 32];
        for (int i = 0; i < video.length; i++) {
            video[i] = (float) (rng.nextDouble() * 4 - 2);
        }
        for (int i = 0; i < audio.length; i++) {
            audio[i] = (float) (rng.nextDouble() * 4 - 2);
        }
        float[] targets = new float[2 * 5];
        targets[rng.nextInt(5)] = 1;
        targets[5 + rng.nextInt(5)] = 1;
        return new FinetuneBatch(m.create(video, new Shape(2, 3, 16, 16, 16)), m.create(audio, new Shape(2, 1, 64, 32)),
                m.create(targets, new Shape(2, 5)), seed);
    }

    @Test
    void fineTuningsStagesGiveTheGradientsOfOneBackwardCall() {
        try (FinetuneTrainer staged = finetuner(StepPolicy.defaults(), false);
                FinetuneTrainer oneCall = finetuner(StepPolicy.defaults(), false);
                NDManager m = staged.newStepManager();
                NDManager mo = oneCall.newStepManager()) {
            staged.computeGradients(m, finetuneBatch(m, 3));
            FinetuneBatch b = finetuneBatch(mo, 3);
            NDArray loss = Autograd.record(() -> SoftTargetCrossEntropy.loss(
                    oneCall.model.forward(oneCall.store, b.video(), b.audio(), true, Trace.OFF), b.targets()));
            Autograd.backward(loss);
            double worst = worstRelativeDifference(staged, m, oneCall);
            System.out.printf("fine-tuning, staged vs one-call backward: largest relative difference %.2e%n", worst);
            assertTrue(worst < 1e-5, "largest difference relative to the parameter's largest gradient: " + worst);
        }
    }

    @Test
    void fineTuningReducedDuringTheBackwardPassMatchesReducingAfterItBitForBit() throws Exception {
        List<Integer> kept = reduceBesideVersusAfter(2, policy -> finetuner(policy, true),
                (t, m, seed) -> t.computeGradients(m, finetuneBatch(m, seed)),
                (t, m, seed) -> {
                    FinetuneTrainer.Forward f = t.forward(m, finetuneBatch(m, seed));
                    return new LossAndBackward(f.loss(), f.backward());
                });
        assertEquals(List.of(3, 3), kept);
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
