package io.hicmae.driver.finetune;

import io.hicmae.driver.config.ConfigDef;
import io.hicmae.driver.config.ConfigException;
import io.hicmae.zoo.ModelRef;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;

import static io.hicmae.driver.config.ConfigDef.atLeast;
import static io.hicmae.driver.config.ConfigDef.between;
import static io.hicmae.driver.config.ConfigDef.matches;

/**
 * The evaluation job's configuration: which fine-tuned version(s), which labelled clips, where the report goes.
 * Parsed and validated before Spark starts; errors name the key and value.
 */
public final class EvaluateConfig implements Serializable {

    private static final long serialVersionUID = 1L;

    public static final String ZOO = "zoo";
    public static final String MODEL = "model";
    public static final String DATA = "data";
    public static final String SPLIT = "split";
    public static final String FOLDS = "folds";
    public static final String JSON = "json";
    public static final String BATCH_SIZE = "batch-size";
    public static final String DEVICE = "device";
    public static final String MASTER = "master";

    /** The {@link #SPLIT} value that selects every clip whatever its split. */
    public static final String ALL = "*";

    /** Every key of the job with its type, default, validator and documentation. */
    public static final ConfigDef DEF = new ConfigDef()
            .define(ZOO, String.class, "./zoo", ConfigDef.nonEmpty(), "Model zoo root (file:, hdfs:, s3a: URI or local path)")
            .defineRequired(MODEL, String.class, ConfigDef.nonEmpty(),
                    "The fine-tuned version: NAME, NAME:VERSION or NAME@ALIAS; with folds, NAME-fold<k> of each fold")
            .defineRequired(DATA, String.class, ConfigDef.nonEmpty(), "Labelled clip dataset to score on")
            .define(SPLIT, String.class, "test", ConfigDef.nonEmpty(),
                    "Clips whose split column is this ('*': every clip; not used with folds)")
            .define(FOLDS, Integer.class, 0, between(0, 100),
                    "K-fold protocol: score NAME-fold<k> on fold k of the data for each k < K; mean and std over folds")
            .define(JSON, String.class, null, ConfigDef.nonEmpty(), "Also write the metrics JSON to this local file")
            .define(BATCH_SIZE, Integer.class, 8, atLeast(1), "Clips per forward pass")
            .define(DEVICE, String.class, "auto", matches("auto|cpu|gpu(:[0-9]+)?", "must be auto, cpu, gpu or gpu:N"),
                    "Device of each task; a task's Spark-assigned GPU wins")
            .define(MASTER, String.class, null, null,
                    "Spark master when not set by spark-submit (default: local mode on the machine's cores)");

    private final Map<String, Object> values;

    private EvaluateConfig(Map<String, Object> values) {
        this.values = values;
    }

    /** Parses and validates; throws {@link ConfigException} naming the key. */
    public static EvaluateConfig parse(Map<String, String> raw) {
        EvaluateConfig c = new EvaluateConfig(DEF.parse(raw));
        ModelRef ref;
        try {
            ref = ModelRef.parse(c.model());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(MODEL, c.model(), e.getMessage());
        }
        if (c.folds() == 1) {
            throw new ConfigException(FOLDS, 1, "use 0 (a split) or at least 2");
        }
        if (c.folds() > 0 && ref.version() != null) {
            throw new ConfigException(MODEL, c.model(), "with folds each fold has its own versions; name the model "
                    + "(its newest versions) or an alias, not a version");
        }
        return c;
    }

    /** The values in force, by key. */
    public Map<String, Object> values() {
        return new LinkedHashMap<>(values);
    }

    public String zoo() {
        return (String) values.get(ZOO);
    }

    public String model() {
        return (String) values.get(MODEL);
    }

    /** The version to score for fold k (k = -1 without folds). */
    public ModelRef modelRef(int fold) {
        ModelRef r = ModelRef.parse(model());
        return fold < 0 ? r : new ModelRef(FinetuneJob.foldModel(r.model(), fold), r.version(), r.alias());
    }

    public String data() {
        return (String) values.get(DATA);
    }

    public String split() {
        return (String) values.get(SPLIT);
    }

    public int folds() {
        return (Integer) values.get(FOLDS);
    }

    /** The local JSON file, or null. */
    public String json() {
        return (String) values.get(JSON);
    }

    public int batchSize() {
        return (Integer) values.get(BATCH_SIZE);
    }

    public String device() {
        return (String) values.get(DEVICE);
    }

    public String master() {
        return (String) values.get(MASTER);
    }
}
