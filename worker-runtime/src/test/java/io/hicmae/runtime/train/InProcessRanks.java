package io.hicmae.runtime.train;

import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.model.PretrainBatch;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Data-parallel steps of tiny-preset trainers in one thread: each rank's forward and backward on its own batch, the
 * buffers averaged as the ring's all-reduce leaves them, then every rank's post-reduce step.
 */
final class InProcessRanks {

    private static final HicmaeConfig TINY = HicmaeConfig.tiny();

    private InProcessRanks() {}

    /** Forward + backward of rank {@code rank}'s batch of step {@code step}, as the loader would derive it. */
    static StepLosses gradients(PretrainTrainer t, NDManager m, int rank, long step) {
        return t.computeGradients(m, batch(m, 1000 + 31 * step + rank));
    }

    /** A tiny-preset batch of two generated clips, drawn (clips and masks) from {@code seed}. */
    static PretrainBatch batch(NDManager m, long seed) {
        GeneratedClips clips = new GeneratedClips(TINY, 7, 4);
        SplittableRandom rng = new SplittableRandom(seed);
        List<byte[]> frames = new ArrayList<>();
        List<short[]> pcm = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            GeneratedClips.Clip c = clips.clip(rng.nextInt(16));
            frames.add(c.frames());
            pcm.add(c.pcm());
        }
        return new BatchAssembler(TINY, true).assemble(m, frames, pcm, rng);
    }

    /** The mean of the ranks' buffers written into every rank's buffer (what the ring's all-reduce leaves). */
    static void reduceMean(List<PretrainTrainer> ranks) {
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
    static List<StepOutcome> step(List<PretrainTrainer> ranks, Float poison) {
        return step(ranks, poison, null);
    }

    /** As {@link #step(List, Float)}, collecting each rank's losses into {@code losses} when not null. */
    static List<StepOutcome> step(List<PretrainTrainer> ranks, Float poison, List<StepLosses> losses) {
        List<NDManager> managers = new ArrayList<>();
        try {
            long step = ranks.get(0).step();
            for (int r = 0; r < ranks.size(); r++) {
                NDManager m = ranks.get(r).newStepManager();
                managers.add(m);
                StepLosses l = gradients(ranks.get(r), m, r, step);
                if (losses != null) {
                    losses.add(l);
                }
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

    /** Every parameter's values, then (with {@code withMoments}) every moment's, concatenated. */
    static float[] flat(AbstractTrainer<?> t, boolean withMoments) {
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
}
