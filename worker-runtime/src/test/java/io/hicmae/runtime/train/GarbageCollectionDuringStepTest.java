package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.optim.AdamW;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A garbage collection in the middle of a step must not change it: constants that autograd keeps for the backward
 * pass live in the step's manager, not in buffers the collector may free (see {@code Scalars}). A thread that
 * allocates and collects without pause, as the prefetching loader does, made every gradient garbage before.
 */
class GarbageCollectionDuringStepTest {

    @Test
    void stepsGiveTheSameGradientsWhileAnotherThreadCollectsGarbage() throws Exception {
        double[] quiet = gradientNorms(false);
        double[] noisy = gradientNorms(true);
        for (double g : noisy) {
            assertTrue(Double.isFinite(g), "gradient norm " + g);
        }
        assertArrayEquals(quiet, noisy);
    }

    private static double[] gradientNorms(boolean collectGarbage) throws Exception {
        HicmaeConfig c = HicmaeConfig.tiny();
        Thread collector = new Thread(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                float[] garbage = new float[2_000_000];
                garbage[garbage.length - 1] = 1;
                System.gc();
            }
        });
        collector.setDaemon(true);
        if (collectGarbage) {
            collector.start();
        }
        GeneratedClips clips = new GeneratedClips(c, 1, 4);
        BatchAssembler assembler = new BatchAssembler(c, true);
        double[] norms = new double[4];
        TrainOptions options = new TrainOptions(3e-3, 1e-4, 1, norms.length, 2, 0, AdamW.Settings.pretraining());
        try (PretrainTrainer t = new PretrainTrainer(c, options, Device.cpu(), 3)) {
            for (int s = 0; s < norms.length; s++) {
                GeneratedClips.Clip a = clips.clip(2 * s);
                GeneratedClips.Clip b = clips.clip(2 * s + 1);
                try (NDManager m = t.newStepManager()) {
                    t.computeGradients(m, assembler.assemble(m, List.of(a.frames(), b.frames()),
                            List.of(a.pcm(), b.pcm()), new SplittableRandom(s)));
                    norms[s] = t.gradientNorm();
                    t.applyGradients(m);
                }
            }
        } finally {
            collector.interrupt();
            collector.join(10_000);
        }
        return norms;
    }
}
