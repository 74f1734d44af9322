package io.hicmae.driver.finetune;

import io.hicmae.driver.config.ConfigDef;
import io.hicmae.driver.config.ConfigException;
import io.hicmae.driver.spark.BarrierStage;
import io.hicmae.driver.spark.StageKeys;
import io.hicmae.driver.spark.TrainingConfig;
import io.hicmae.runtime.finetune.Mixup;
import io.hicmae.zoo.ModelRef;

import java.util.LinkedHashMap;
import java.util.Map;

import static io.hicmae.driver.config.ConfigDef.atLeast;
import static io.hicmae.driver.config.ConfigDef.between;
import static io.hicmae.driver.config.ConfigDef.matches;

/**
 * The fine-tuning job's configuration: one typed object, parsed and validated on the driver before Spark starts.
 * Defaults are the authors' fine-tuning recipe (spec §11.2); {@code --linear-probe} switches to the probe's
 * defaults (head only, no weight decay, no mixup, smoothing or stochastic depth) for every key the user left unset.
 */
public final class FinetuneConfig implements TrainingConfig {

    private static final long serialVersionUID = 1L;

    public static final String FROM = "from";
    public static final String TRAIN = "train";
    public static final String VAL = "val";
    public static final String TRAIN_SPLIT = "train-split";
    public static final String VAL_SPLIT = "val-split";
    public static final String FOLDS = "folds";
    public static final String MODEL = "model";
    public static final String ALIAS = "alias";
    public static final String LINEAR_PROBE = "linear-probe";
    public static final String LAYER_DECAY = "layer-decay";
    public static final String DROP_PATH = "drop-path";
    public static final String SMOOTHING = "smoothing";
    public static final String MIXUP = "mixup";
    public static final String CUTMIX = "cutmix";
    public static final String RUN_ID = "run-id";

    private static final String NAME = "[a-z0-9][a-z0-9._-]{0,63}";
    private static final String NAME_RULE = "must be 1-64 of a-z 0-9 . _ - starting with a letter or digit";

    /** Every key of the job with its type, default, validator and documentation. */
    public static final ConfigDef DEF = new ConfigDef()
            .define(ZOO, String.class, "./zoo", ConfigDef.nonEmpty(),
                    "Model zoo root (file:, hdfs:, s3a: URI or local path): the pre-trained model, checkpoints and the result")
            .defineRequired(FROM, String.class, ConfigDef.nonEmpty(),
                    "The pre-trained version to start from: NAME, NAME:VERSION or NAME@ALIAS")
            .defineRequired(TRAIN, String.class, ConfigDef.nonEmpty(),
                    "Labelled clip dataset (hicmae prep --manifest) to train on")
            .define(VAL, String.class, null, ConfigDef.nonEmpty(),
                    "Labelled clip dataset to validate on after every epoch; unset, the train dataset")
            .define(TRAIN_SPLIT, String.class, "train", ConfigDef.nonEmpty(),
                    "Clips of the train dataset whose split column is this (not used with folds)")
            .define(VAL_SPLIT, String.class, "val", ConfigDef.nonEmpty(),
                    "Clips of the val dataset whose split column is this (not used with folds)")
            .define(FOLDS, Integer.class, 0, between(0, 100),
                    "K-fold protocol: for each fold k < K train on fold != k and validate on fold == k of the train "
                            + "dataset, one version per fold, mean and std reported (0: use the splits)")
            .define(MODEL, String.class, null, matches(NAME, NAME_RULE),
                    "Model name of the result in the zoo; unset, <from name>-ft; fold k publishes <model>-fold<k>")
            .define(ALIAS, String.class, null, matches(NAME, "must be an alias name"),
                    "Also point this alias at the published version(s); 'latest' always moves")
            .define(LINEAR_PROBE, Boolean.class, false, null,
                    "Train only the head on the frozen backbone; unset keys take the probe's defaults "
                            + "(lr 0.1, min-lr 0, weight-decay 0, layer-decay 1, drop-path 0, smoothing 0, mixup 0, cutmix 0)")
            .define(EPOCHS, Integer.class, 50, atLeast(1), "Passes over the training clips (upstream CREMA-D 50)")
            .define(BATCH_SIZE, Integer.class, 14, atLeast(1), "Clips per rank per step (upstream 14 per GPU)")
            .define(MAX_STEPS, Long.class, 0L, atLeast(0), "Stop after this many steps in all (0: no limit)")
            .define(LR, Double.class, 1e-3, between(1e-9, 10), "Base lr per 256 clips; peak lr = lr x global batch / 256")
            .define(MIN_LR, Double.class, 1e-6, between(0, 10), "Final lr per 256 clips, reached by the cosine decay")
            .define(WARMUP_EPOCHS, Double.class, 5.0, between(0, 1e6),
                    "Linear warm-up from 0, in epochs (capped at the run's length)")
            .define(WEIGHT_DECAY, Double.class, 0.05, between(0, 10), "AdamW decoupled weight decay")
            .define(BETA1, Double.class, 0.9, between(0, 0.999999), "AdamW beta1")
            .define(BETA2, Double.class, 0.999, between(0, 0.999999), "AdamW beta2")
            .define(LAYER_DECAY, Double.class, 0.75, between(1e-6, 1),
                    "Layer-wise lr decay: a parameter of layer id k (0 patch embeddings .. 13 head) gets lr x decay^(13 - k) (1: off)")
            .define(DROP_PATH, Double.class, 0.1, between(0, 0.99), "Stochastic depth of the deepest block")
            .define(SMOOTHING, Double.class, 0.1, between(0, 0.99), "Label smoothing (classification only)")
            .define(MIXUP, Double.class, 0.8, between(0, 100), "Mixup Beta alpha on the video (0: off; classification only)")
            .define(CUTMIX, Double.class, 1.0, between(0, 100), "Cutmix Beta alpha on the video (0: off; classification only)")
            .define(SEED, Long.class, 0L, null, "Seed of the head's initialisation, data order and augmentation")
            .define(CHECKPOINT_EVERY, Integer.class, 100, atLeast(1),
                    "Steps between checkpoints (and one at every epoch's end)")
            .define(RUN_ID, String.class, null, matches(NAME, NAME_RULE),
                    "Run id: a run id that has checkpoints resumes (default: new id); fold k uses <run-id>-fold<k>");

    static {
        StageKeys.define(DEF);
        io.hicmae.driver.config.StepKeys.define(DEF);
    }

    /** Keys whose default differs for the linear probe, with the probe's value. */
    private static final Map<String, Object> PROBE_DEFAULTS = Map.of(WEIGHT_DECAY, 0.0, LAYER_DECAY, 1.0,
            DROP_PATH, 0.0, SMOOTHING, 0.0, MIXUP, 0.0, CUTMIX, 0.0, MIN_LR, 0.0, LR, 0.1);

    private final Map<String, Object> values;

    private FinetuneConfig(Map<String, Object> values) {
        this.values = values;
    }

    /** Parses, validates and applies the cross-key rules; throws {@link ConfigException} naming the key. */
    public static FinetuneConfig parse(Map<String, String> raw) {
        Map<String, Object> v = DEF.parse(raw);
        if (Boolean.TRUE.equals(v.get(LINEAR_PROBE))) {
            PROBE_DEFAULTS.forEach((k, d) -> {
                if (!raw.containsKey(k)) {
                    v.put(k, d);
                }
            });
        }
        if (v.get(VAL) == null) {
            v.put(VAL, v.get(TRAIN));
        }
        FinetuneConfig c = new FinetuneConfig(v);
        try {
            ModelRef.parse(c.from());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(FROM, c.from(), e.getMessage());
        }
        if (c.minLr() > c.lr()) {
            throw new ConfigException(MIN_LR, c.minLr(), "must not exceed lr " + c.lr());
        }
        if (c.linearProbe()) {
            for (String k : new String[] {DROP_PATH, MIXUP, CUTMIX, SMOOTHING}) {
                if (((Double) v.get(k)) != 0) {
                    throw new ConfigException(k, v.get(k), "the linear probe trains the head on clean targets of the "
                            + "frozen backbone; set it to 0 or drop --linear-probe");
                }
            }
        }
        if (c.folds() == 1) {
            throw new ConfigException(FOLDS, 1, "one fold leaves nothing to train on; use 0 (splits) or at least 2");
        }
        if (c.folds() > 0 && raw.containsKey(VAL) && !raw.get(VAL).equals(raw.get(TRAIN))) {
            throw new ConfigException(VAL, raw.get(VAL), "with folds every fold validates on the train dataset's "
                    + "held-out fold; leave val unset");
        }
        return c;
    }

    /** The values in force, by key (for logs and the run's metadata). */
    @Override
    public Map<String, Object> values() {
        return new LinkedHashMap<>(values);
    }

    /** How the barrier stage runs: ranks, device, master, retries, deadlines. */
    @Override
    public BarrierStage.Settings stage() {
        return StageKeys.settings("finetune", values);
    }

    public String from() {
        return (String) values.get(FROM);
    }

    public ModelRef fromRef() {
        return ModelRef.parse(from());
    }

    public String train() {
        return (String) values.get(TRAIN);
    }

    public String val() {
        return (String) values.get(VAL);
    }

    public String trainSplit() {
        return (String) values.get(TRAIN_SPLIT);
    }

    public String valSplit() {
        return (String) values.get(VAL_SPLIT);
    }

    public int folds() {
        return (Integer) values.get(FOLDS);
    }

    /** The result's model name: --model, or the pre-trained model's name + "-ft". */
    public String model() {
        Object m = values.get(MODEL);
        return m != null ? (String) m : fromRef().model() + "-ft";
    }

    public String alias() {
        return (String) values.get(ALIAS);
    }

    public boolean linearProbe() {
        return (Boolean) values.get(LINEAR_PROBE);
    }

    public double layerDecay() {
        return (Double) values.get(LAYER_DECAY);
    }

    public double dropPath() {
        return (Double) values.get(DROP_PATH);
    }

    public double smoothing() {
        return (Double) values.get(SMOOTHING);
    }

    /** Mixup and cutmix as configured (upstream prob 1, switch 0.5). */
    public Mixup.Settings mixup() {
        return new Mixup.Settings((Double) values.get(MIXUP), (Double) values.get(CUTMIX), 1.0, 0.5);
    }

    /** The run id given by --run-id, or null for a new run. */
    public String runId() {
        return (String) values.get(RUN_ID);
    }

}
