import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.training.ParameterStore;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.loss.PretrainLoss;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.model.Trace;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.Autograd;
import io.hicmae.runtime.train.PretrainTrainer;
import io.hicmae.runtime.train.TrainOptions;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The step split (forward, backward, optimiser) with only the API main (e6bffb1) already has, so the same file times
 * main's build and this branch's: per step, a forward-only pass (recorded, then dropped) gives the forward time,
 * computeGradients minus it the backward, applyGradients the optimiser (on this branch: the post-reduce step, norm and
 * finite check included). Run: java -cp <worker-runtime classes + deps> StepSplit.java LABEL PRESET BATCH WARMUP STEPS
 * Prints one line per timed step: "LABEL fwd_ms bwd_ms opt_ms step_ms".
 */
public class StepSplit {
    public static void main(String[] a) throws Exception {
        String label = a[0];
        HicmaeConfig cfg = HicmaeConfig.preset(a[1]);
        int batch = Integer.parseInt(a[2]);
        int warmup = Integer.parseInt(a[3]);
        int steps = Integer.parseInt(a[4]);
        TrainOptions options = new TrainOptions(3e-4, 1e-5, 0, warmup + steps, 256, 0, AdamW.Settings.pretraining());
        GeneratedClips clips = new GeneratedClips(cfg, 1, 8);
        BatchAssembler assembler = new BatchAssembler(cfg, true);
        List<byte[]> frames = new ArrayList<>();
        List<short[]> pcm = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            GeneratedClips.Clip c = clips.clip(i);
            frames.add(c.frames());
            pcm.add(c.pcm());
        }
        try (PretrainTrainer t = new PretrainTrainer(cfg, options, Device.cpu(), 1)) {
            java.lang.reflect.Field f = t.getClass().getSuperclass().getDeclaredField("store");
            f.setAccessible(true);
            ParameterStore store = (ParameterStore) f.get(t);
            SplittableRandom rng = new SplittableRandom(5);
            for (int s = 0; s < warmup + steps; s++) {
                try (NDManager m = t.newStepManager()) {
                    PretrainBatch b = assembler.assemble(m, frames, pcm, rng);
                    long f0 = System.nanoTime();
                    try (NDManager fm = m.newSubManager()) {
                        Autograd.record(() -> PretrainLoss.compute(cfg, b, t.model().forward(store, b, true, Trace.OFF)))
                                .total().getFloat();
                    }
                    long f1 = System.nanoTime();
                    t.computeGradients(m, b);
                    long t1 = System.nanoTime();
                    t.applyGradients(m);
                    long t2 = System.nanoTime();
                    if (s >= warmup) {
                        double fwd = (f1 - f0) / 1e6;
                        double fb = (t1 - f1) / 1e6;
                        double opt = (t2 - t1) / 1e6;
                        System.out.printf("%s %.1f %.1f %.1f %.1f%n", label, fwd, fb - fwd, opt, fb + opt);
                    }
                }
            }
        }
    }
}
