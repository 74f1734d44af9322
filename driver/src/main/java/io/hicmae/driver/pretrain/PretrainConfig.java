package io.hicmae.driver.pretrain;

import io.hicmae.driver.config.ConfigDef;
import io.hicmae.driver.config.ConfigException;
import io.hicmae.driver.spark.BarrierStage;
import io.hicmae.driver.spark.StageKeys;
import io.hicmae.driver.spark.TrainingConfig;
import io.hicmae.runtime.config.HicmaeConfig;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import static io.hicmae.driver.config.ConfigDef.atLeast;
import static io.hicmae.driver.config.ConfigDef.between;
import static io.hicmae.driver.config.ConfigDef.in;
import static io.hicmae.driver.config.ConfigDef.matches;

/**
 * The pre-training job's configuration: one typed object, parsed and validated on the driver before any executor
 * is asked for. Every key, its default and its documentation live in {@link #DEF}; errors name the key and value.
 */
public final class PretrainConfig implements TrainingConfig {

    private static final long serialVersionUID = 1L;

    public static final String DATA = "data";
    public static final String MODEL = "model";
    public static final String PRESET = "preset";
    public static final String WORLD_SIZE = StageKeys.WORLD_SIZE;
    public static final String CLIP_GRAD = "clip-grad";
    public static final String CONTRASTIVE_WEIGHT = "contrastive-weight";
    public static final String DEVICE = StageKeys.DEVICE;
    public static final String RUN_ID = "run-id";
    public static final String RESUME = "resume";
    public static final String ALIAS = "alias";
    public static final String MASTER = StageKeys.MASTER;
    public static final String MAX_ATTEMPTS = StageKeys.MAX_ATTEMPTS;
    public static final String RETRY_BACKOFF_MS = StageKeys.RETRY_BACKOFF_MS;
    public static final String SLOT_WAIT_S = StageKeys.SLOT_WAIT_S;
    public static final String CONNECT_TIMEOUT_S = StageKeys.CONNECT_TIMEOUT_S;
    public static final String IO_TIMEOUT_S = StageKeys.IO_TIMEOUT_S;
    public static final String DATA_TIMEOUT_S = "data-timeout-s";
    public static final String PREFETCH = "prefetch";
    public static final String PREPROCESSING = "preprocessing";

    private static final String NAME = "[a-z0-9][a-z0-9._-]{0,63}";

    /** Every key of the job with its type, default, validator and documentation. */
    public static final ConfigDef DEF = new ConfigDef()
            .defineRequired(DATA, String.class, ConfigDef.nonEmpty(),
                    "Clip dataset written by 'hicmae prep' (a URI on any Hadoop FileSystem or a local path)")
            .define(ZOO, String.class, "./zoo", ConfigDef.nonEmpty(),
                    "Model zoo root (file:, hdfs:, s3a: URI or local path); checkpoints and the result go here")
            .define(MODEL, String.class, "hicmae", matches(NAME, "must be 1-64 of a-z 0-9 . _ - starting with a letter or digit"),
                    "Model name in the zoo under which the result is published")
            .define(PRESET, String.class, "demo", in("tiny", "demo", "small", "base"),
                    "Model size: tiny (tests), demo (real input geometry, narrow), small (HiCMAE-S), base (HiCMAE-B)")
            .define(EPOCHS, Integer.class, 1, atLeast(1), "Passes over the dataset")
            .define(BATCH_SIZE, Integer.class, 4, atLeast(2),
                    "Clips per rank per step (the contrastive loss uses the rank's own batch as negatives)")
            .define(MAX_STEPS, Long.class, 0L, atLeast(0), "Stop after this many steps in all (0: no limit)")
            .define(LR, Double.class, 3e-4, between(1e-9, 10), "Base lr per 256 clips; peak lr = lr x global batch / 256")
            .define(MIN_LR, Double.class, 1e-5, between(0, 10), "Final lr per 256 clips, reached by the cosine decay")
            .define(WARMUP_EPOCHS, Double.class, 5.0, between(0, 1e6),
                    "Linear warm-up from 0, in epochs (capped at the run's length)")
            .define(WEIGHT_DECAY, Double.class, 0.05, between(0, 10), "AdamW decoupled weight decay")
            .define(BETA1, Double.class, 0.9, between(0, 0.999999), "AdamW beta1")
            .define(BETA2, Double.class, 0.95, between(0, 0.999999), "AdamW beta2")
            .define(CLIP_GRAD, Double.class, 0.0, atLeast(0), "Max global gradient norm (0: no clipping, as upstream)")
            .define(CONTRASTIVE_WEIGHT, Double.class, 0.0025, between(0, 100),
                    "Weight of the hierarchical contrastive loss (upstream 0.0025)")
            .define(SEED, Long.class, 0L, null, "Seed of the initial weights, data order, masks and augmentation")
            .define(CHECKPOINT_EVERY, Integer.class, 100, atLeast(1), "Steps between checkpoints (and one at the end)")
            .define(RUN_ID, String.class, null, matches(NAME, "must be 1-64 of a-z 0-9 . _ - starting with a letter or digit"),
                    "Run id: checkpoints live under it; a run id that has checkpoints resumes (default: new id)")
            .define(RESUME, String.class, null, matches(NAME, "must be a run id"),
                    "Resume this run from its last checkpoint (the same as --run-id of an existing run)")
            .define(ALIAS, String.class, null, matches(NAME, "must be an alias name"),
                    "Also point this alias (e.g. nightly) at the published version; 'latest' always moves")
            .define(DATA_TIMEOUT_S, Integer.class, 300, between(1, 86_400), "Deadline for the next batch from storage")
            .define(PREFETCH, Integer.class, 2, between(1, 64), "Batches each rank prepares ahead")
            .define(PREPROCESSING, String.class, "auto", in("auto", "host", "device"),
                    "Where crop, normalisation and fbank run: host (Java, on the loader thread), device (batched "
                    + "engine operations on the step's device) or auto (device on a GPU, host on the CPU, where the "
                    + "Java code is faster)");

    static {
        StageKeys.define(DEF);
        io.hicmae.driver.config.StepKeys.define(DEF);
    }

    private final Map<String, Object> values;

    private PretrainConfig(Map<String, Object> values) {
        this.values = values;
    }

    /** Parses, validates and applies the cross-key rules; throws {@link ConfigException} naming the key. */
    public static PretrainConfig parse(Map<String, String> raw) {
        PretrainConfig c = new PretrainConfig(DEF.parse(raw));
        if (c.minLr() > c.lr()) {
            throw new ConfigException(MIN_LR, c.minLr(), "must not exceed lr " + c.lr());
        }
        if (c.values.get(RUN_ID) != null && c.values.get(RESUME) != null
                && !c.values.get(RUN_ID).equals(c.values.get(RESUME))) {
            throw new ConfigException(RESUME, c.values.get(RESUME), "differs from run-id " + c.values.get(RUN_ID));
        }
        c.modelConfig(); // the preset with the contrastive weight must itself be valid
        return c;
    }

    /** The values in force, by key (for logs and the run's metadata). */
    @Override
    public Map<String, Object> values() {
        return new LinkedHashMap<>(values);
    }

    public String data() {
        return (String) values.get(DATA);
    }

    public String model() {
        return (String) values.get(MODEL);
    }

    public String preset() {
        return (String) values.get(PRESET);
    }

    /** The model's sizes: the preset, with this run's contrastive weight. */
    public HicmaeConfig modelConfig() {
        HicmaeConfig p = HicmaeConfig.preset(preset());
        return new HicmaeConfig(p.name(), p.imgSize(), p.patchSize(), p.tubeletSize(), p.numFrames(), p.embedDim(),
                p.depth(), p.numHeads(), p.audioFrames(), p.audioMelBins(), p.patchSizeAudio(), p.depthAudio(),
                p.numHeadsAudio(), p.fusionDepth(), p.fusionHeads(), p.decoderDim(), p.decoderDepth(),
                p.decoderHeads(), p.decoderDimAudio(), p.decoderDepthAudio(), p.decoderHeadsAudio(), p.mlpRatio(),
                p.layerNormEps(), p.intermediateLayers(), p.maskRatioVideo(), p.maskRatioAudio(), p.temperature(),
                (float) contrastiveWeight());
    }

    /** How the barrier stage runs: ranks, device, master, retries, deadlines. */
    @Override
    public BarrierStage.Settings stage() {
        return StageKeys.settings("pretrain", values);
    }

    public double clipGrad() {
        return (Double) values.get(CLIP_GRAD);
    }

    public double contrastiveWeight() {
        return (Double) values.get(CONTRASTIVE_WEIGHT);
    }

    /** The run id given by --run-id or --resume, or null for a new run. */
    public String runId() {
        Object id = values.get(RUN_ID);
        return (String) (id != null ? id : values.get(RESUME));
    }

    public boolean resume() {
        return values.get(RESUME) != null;
    }

    public String alias() {
        return (String) values.get(ALIAS);
    }

    public Duration dataTimeout() {
        return Duration.ofSeconds((Integer) values.get(DATA_TIMEOUT_S));
    }

    public int prefetch() {
        return (Integer) values.get(PREFETCH);
    }

    /** host, device or auto (see {@link io.hicmae.runtime.data.Preprocessing#parse}). */
    public String preprocessing() {
        return (String) values.get(PREPROCESSING);
    }
}
