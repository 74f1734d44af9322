package io.hicmae.zoo;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a training run publishes as a new version: the weights, the model config, the lineage and the step metrics.
 * The zoo adds {@code metrics.jsonl}, the model card ({@code README.md} and {@code loss-curve.png}) and
 * {@code SHA256SUMS}. Build it with {@link #builder(String)}: {@code set*} parts are required, {@code opt*} optional.
 */
public final class PublishRequest {
    public static final String WEIGHTS = "model.safetensors";
    public static final String CONFIG = "config.json";
    public static final String METRICS = "metrics.jsonl";

    private static final Set<String> RESERVED = Set.of(
            WEIGHTS, CONFIG, METRICS, VersionMetadata.FILE, ModelCard.README, ModelCard.LOSS_CURVE, Store.SUMS,
            Store.MARKER);

    private final String model;
    private final ContentWriter weights;
    private final String configJson;
    private final VersionMetadata metadata;
    private final List<StepMetrics> metrics;
    private final Map<String, ContentWriter> extraFiles;

    private PublishRequest(Builder b) {
        this.model = b.model;
        this.weights = b.weights;
        this.configJson = b.configJson;
        this.metadata = b.metadata;
        this.metrics = List.copyOf(b.metrics);
        this.extraFiles = Map.copyOf(b.extraFiles);
    }

    public static Builder builder(String model) {
        return new Builder(Names.model(model));
    }

    public String model() {
        return model;
    }

    ContentWriter weights() {
        return weights;
    }

    String configJson() {
        return configJson;
    }

    VersionMetadata metadata() {
        return metadata;
    }

    List<StepMetrics> metrics() {
        return metrics;
    }

    Map<String, ContentWriter> extraFiles() {
        return extraFiles;
    }

    /** {@code metrics.jsonl}: one JSON object per step, {@code {"step":100,"loss":0.52,...}}. */
    byte[] metricsJsonl() {
        StringBuilder sb = new StringBuilder();
        for (StepMetrics m : metrics) {
            com.google.gson.JsonObject line = new com.google.gson.JsonObject();
            line.addProperty("step", m.step());
            m.losses().forEach(line::addProperty);
            sb.append(line).append('\n');
        }
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** Collects the parts of a {@link PublishRequest}. */
    public static final class Builder {
        private final String model;
        private ContentWriter weights;
        private String configJson;
        private VersionMetadata metadata;
        private List<StepMetrics> metrics = List.of();
        private final Map<String, ContentWriter> extraFiles = new LinkedHashMap<>();

        private Builder(String model) {
            this.model = model;
        }

        /** The safetensors weights with the authors' key names, written as {@code model.safetensors}. */
        public Builder setWeights(ContentWriter weights) {
            this.weights = weights;
            return this;
        }

        public Builder setWeights(Path safetensors) {
            return setWeights(ContentWriter.of(safetensors));
        }

        /** The model's {@code config.json}. */
        public Builder setConfig(String configJson) {
            this.configJson = configJson;
            return this;
        }

        public Builder setMetadata(VersionMetadata metadata) {
            this.metadata = metadata;
            return this;
        }

        /** The step metrics, in step order: they become {@code metrics.jsonl} and the model card's loss curve. */
        public Builder optMetrics(List<StepMetrics> metrics) {
            this.metrics = metrics;
            return this;
        }

        /** Another file of the version, e.g. a tokenizer; its name must not be one the zoo writes. */
        public Builder optFile(String name, ContentWriter content) {
            if (RESERVED.contains(Names.file(name)) || extraFiles.containsKey(name)) {
                throw Names.invalid(name, "file name", "the zoo writes that file itself or it was given twice");
            }
            extraFiles.put(name, content);
            return this;
        }

        public PublishRequest build() {
            if (weights == null || configJson == null || metadata == null) {
                throw new IllegalArgumentException("A version of " + model + " needs weights, config and metadata"
                        + " (setWeights, setConfig, setMetadata)");
            }
            try {
                com.google.gson.JsonParser.parseString(configJson).getAsJsonObject();
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("Invalid value for config.json of model " + model
                        + ": must be a JSON object (" + e.getMessage() + ")", e);
            }
            return new PublishRequest(this);
        }
    }
}
