package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.allreduce.WireDtype;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.optim.AdamW;
import org.junit.jupiter.api.Test;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Data parallelism changes nothing but the contrastive negatives: 2 ranks of batch b with the ring all-reduce end
 * where 1 rank of batch 2b ends when the contrastive weight is 0, and where 1 rank averaging two b-batch gradients
 * ends with the contrastive term on (upstream's DDP semantics).
 */
class DataParallelEquivalenceTest {

    private static final int B = 2;
    private static final int STEPS = 3;

    @Test
    void twoRanksEqualOneRankWithTheDoubleBatchWithoutTheContrastiveTerm() throws Exception {
        HicmaeConfig c = HicmaeConfig.tiny().withContrastiveWeight(0f);
        float[] single = singleRank(c, false);
        float[][] ranks = twoRanks(c);
        assertArrayEquals(ranks[0], ranks[1], "ranks must end bit-identical");
        assertClose(single, ranks[0]);
    }

    @Test
    void twoRanksEqualOneRankAveragingTwoHalfBatchGradientsWithTheContrastiveTerm() throws Exception {
        HicmaeConfig c = HicmaeConfig.tiny();
        float[] averaged = singleRank(c, true);
        float[][] ranks = twoRanks(c);
        assertArrayEquals(ranks[0], ranks[1], "ranks must end bit-identical");
        assertClose(averaged, ranks[0]);
        // And the full-batch run differs: its contrastive negatives span both halves.
        float[] full = singleRank(c, false);
        float maxDiff = 0;
        for (int i = 0; i < full.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(full[i] - ranks[0][i]));
        }
        assertTrue(maxDiff > 1e-6, "the contrastive term should make a full batch differ, max diff " + maxDiff);
    }

    private static TrainOptions options() {
        return new TrainOptions(3e-3, 1e-4, 1, STEPS, 2 * B, 0, AdamW.Settings.pretraining());
    }

    /** Sample i of step s: the same clip, masks and gain in every set-up. */
    private static PretrainBatch samples(HicmaeConfig c, NDManager m, int step, int from, int count) {
        GeneratedClips clips = new GeneratedClips(c, 3, 4);
        BatchAssembler assembler = new BatchAssembler(c, true);
        List<PretrainBatch> parts = new ArrayList<>();
        for (int i = from; i < from + count; i++) {
            int sample = step * 2 * B + i;
            GeneratedClips.Clip clip = clips.clip(sample);
            parts.add(assembler.assemble(m, List.of(clip.frames()), List.of(clip.pcm()),
                    new SplittableRandom(100 + sample)));
        }
        return new PretrainBatch(cat(parts, 0), cat(parts, 1), cat(parts, 2), cat(parts, 3), cat(parts, 4),
                cat(parts, 5));
    }

    private static NDArray cat(List<PretrainBatch> parts, int field) {
        NDList l = new NDList();
        for (PretrainBatch p : parts) {
            l.add(p.toList().get(field));
        }
        return NDArrays.concat(l, 0);
    }

    private static float[] singleRank(HicmaeConfig c, boolean averageHalves) {
        try (PretrainTrainer t = new PretrainTrainer(c, options(), Device.cpu(), 11)) {
            for (int s = 0; s < STEPS; s++) {
                try (NDManager m = t.newStepManager()) {
                    if (averageHalves) {
                        t.computeGradients(m, samples(c, m, s, 0, B));
                        float[] first = new float[t.gradients().limit()];
                        t.gradients().get(first).rewind();
                        t.computeGradients(m, samples(c, m, s, B, B));
                        FloatBuffer g = t.gradients();
                        for (int i = 0; i < first.length; i++) {
                            g.put(i, (first[i] + g.get(i)) / 2);
                        }
                    } else {
                        t.computeGradients(m, samples(c, m, s, 0, 2 * B));
                    }
                    t.applyGradients(m);
                }
            }
            return parameters(t);
        }
    }

    private static float[][] twoRanks(HicmaeConfig c) throws Exception {
        return LoopbackRing.run(2, WireDtype.FP32, (rank, ring) -> {
            try (PretrainTrainer t = new PretrainTrainer(c, options(), Device.cpu(), 11)) {
                for (int s = 0; s < STEPS; s++) {
                    try (NDManager m = t.newStepManager()) {
                        t.computeGradients(m, samples(c, m, s, rank * B, B));
                        ring.allReduceMean(t.gradientBytes(), s);
                        t.applyGradients(m);
                    }
                }
                return parameters(t);
            }
        }).toArray(new float[0][]);
    }

    private static float[] parameters(PretrainTrainer t) {
        NDList l = new NDList();
        for (NDArray a : t.state().parameters().values()) {
            l.add(a.reshape(-1));
        }
        return NDArrays.concat(l).toFloatArray();
    }

    /** fp32 tolerance after a few Adam steps: sums are reordered, so allow a few ulps of drift per step. */
    private static void assertClose(float[] expected, float[] actual) {
        double maxDiff = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = Math.abs(expected[i] - actual[i]);
            maxDiff = Math.max(maxDiff, d);
            assertTrue(d <= 2e-5 + 1e-4 * Math.abs(expected[i]),
                    "parameter element " + i + ": " + expected[i] + " vs " + actual[i]);
        }
        System.out.printf("max parameter difference %.3g%n", maxDiff);
    }
}
