package io.hicmae.driver.pretrain;

import ai.djl.ndarray.NDManager;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.hicmae.driver.spark.RankEnv;
import io.hicmae.driver.spark.RankStep;
import io.hicmae.runtime.data.ClipGeometry;
import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.runtime.data.HostBatch;
import io.hicmae.runtime.data.LoaderOptions;
import io.hicmae.runtime.data.PrefetchingLoader;
import io.hicmae.runtime.data.Preprocessing;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.AbstractTrainer;
import io.hicmae.runtime.train.PretrainTrainer;
import io.hicmae.runtime.train.StepLosses;
import io.hicmae.runtime.train.TrainOptions;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Pre-training's part of a rank of the shared loop: a {@link PretrainTrainer} initialised from the seed, and the
 * micro-batches of this rank's slots from a {@link PrefetchingLoader} (reads, crop windows, gains and masks on a
 * background thread, keyed by slot and step, not by rank; crop, normalisation and fbank with gain on that thread for
 * the CPU device, on the step's device for a GPU, or as {@code --preprocessing} says: {@link Preprocessing#parse}). Loss terms:
 * loss, video, audio, contrastive, then one per contrastive layer.
 */
final class PretrainStep implements RankStep<HostBatch> {

    private final PretrainPlan plan;
    private final PretrainTrainer trainer;
    private final PrefetchingLoader loader;

    private PretrainStep(PretrainPlan plan, PretrainTrainer trainer, PrefetchingLoader loader) {
        this.plan = plan;
        this.trainer = trainer;
        this.loader = loader;
    }

    static PretrainStep open(PretrainPlan plan, RankEnv env) throws IOException {
        PretrainConfig cfg = plan.config();
        TrainOptions options = new TrainOptions(cfg.lr(), cfg.minLr(), plan.run().warmupSteps(),
                plan.run().totalSteps(), plan.run().batch().clips(), cfg.clipGrad(),
                new AdamW.Settings(cfg.beta1(), cfg.beta2(), 1e-8, cfg.weightDecay()));
        PretrainTrainer trainer = new PretrainTrainer(cfg.modelConfig(), options, env.device(), cfg.seed());
        trainer.use(io.hicmae.driver.config.StepKeys.policy(cfg.step(), env.device())); // precision, non-finite limit
        try {
            ClipIndex index = ClipIndex.build(cfg.data(), env.hadoop());
            LoaderOptions lo = new LoaderOptions(env.rank(), env.worldSize(), plan.run().batch().microBatches(),
                    cfg.batchSize(), cfg.seed(), cfg.prefetch(), 4, ClipGeometry.STORED);
            return new PretrainStep(plan, trainer, new PrefetchingLoader(index, cfg.modelConfig(), lo, env.hadoop(),
                    Preprocessing.parse(cfg.preprocessing(), env.device())));
        } catch (IOException | RuntimeException e) {
            trainer.close();
            throw e;
        }
    }

    @Override
    public AbstractTrainer<?> trainer() {
        return trainer;
    }

    @Override
    public void seek(long step) {
        long perEpoch = plan.run().stepsPerEpoch();
        loader.seek((int) (step / perEpoch), (int) (step % perEpoch));
    }

    @Override
    public HostBatch next(long step) throws IOException {
        return loader.next(plan.config().dataTimeout());
    }

    @Override
    public float[] computeGradients(NDManager stepManager, HostBatch batch, long step) {
        return terms(trainer.computeGradients(stepManager, batch.toPretrainBatch(stepManager)));
    }

    @Override
    public Forward forward(NDManager stepManager, HostBatch batch, long step) {
        PretrainTrainer.Forward f = trainer.forward(stepManager, batch.toPretrainBatch(stepManager));
        return new Forward(terms(f.losses()), f.backward());
    }

    /** The loss terms in {@link #lossMap}'s order. */
    private static float[] terms(StepLosses l) {
        float[] layers = l.contrastiveLayers();
        float[] out = new float[4 + layers.length];
        out[0] = l.total();
        out[1] = l.video();
        out[2] = l.audio();
        out[3] = l.contrastive();
        System.arraycopy(layers, 0, out, 4, layers.length);
        return out;
    }

    @Override
    public java.util.List<String> clipIds(HostBatch batch) {
        return batch.clipIds();
    }

    @Override
    public Map<String, Double> lossMap(float[] l) {
        Map<String, Double> m = new LinkedHashMap<>();
        m.put("loss", (double) l[0]);
        m.put("video", (double) l[1]);
        m.put("audio", (double) l[2]);
        m.put("contrastive", (double) l[3]);
        for (int k = 4; k < l.length; k++) {
            m.put("contrastive_layer" + (k - 4), (double) l[k]);
        }
        return m;
    }

    /** loss, video, audio, contrastive and the per-layer contrastive terms as one array, "contrastive_layers". */
    @Override
    public void addLosses(JsonObject line, float[] l) {
        line.addProperty("loss", l[0]);
        line.addProperty("video", l[1]);
        line.addProperty("audio", l[2]);
        line.addProperty("contrastive", l[3]);
        JsonArray layers = new JsonArray();
        for (int k = 4; k < l.length; k++) {
            layers.add(l[k]);
        }
        line.add("contrastive_layers", layers);
    }

    @Override
    public void close() {
        try (PretrainTrainer t = trainer) {
            loader.close();
        }
    }
}
