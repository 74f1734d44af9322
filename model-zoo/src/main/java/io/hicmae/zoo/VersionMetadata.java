package io.hicmae.zoo;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.net.URI;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;

/**
 * A version's lineage, stored as its {@code metadata.json}: the training run that made it, the version it was
 * fine-tuned or resumed from, the data set and the digest of its {@code _dataset.json}, the job config, how many steps
 * ran, the final losses, the code version and the publish time.
 *
 * @param runId the training run id
 * @param parentVersion the version fine-tuned or resumed from ({@code name:v000002}), or {@code null}
 * @param dataset the data set's URI
 * @param datasetDigest the SHA-256 of the data set's {@code _dataset.json}
 * @param jobConfig the job's config as JSON
 * @param steps optimiser steps run
 * @param finalLosses loss name to its last value, sorted
 * @param codeVersion the code's version (a git commit or release)
 * @param createdAt the publish time, stamped by the zoo; {@code null} before publishing
 */
public record VersionMetadata(
        String runId,
        String parentVersion,
        URI dataset,
        String datasetDigest,
        JsonObject jobConfig,
        long steps,
        SortedMap<String, Double> finalLosses,
        String codeVersion,
        Instant createdAt) {
    public static final String FILE = "metadata.json";

    public VersionMetadata {
        Names.runId(runId);
        if (parentVersion != null) {
            ModelRef parent = ModelRef.parse(parentVersion);
            if (parent.version() == null) {
                throw Names.invalid(parentVersion, "parent version", "must name a version, as name:v000002");
            }
            parentVersion = parent.toString();
        }
        if (datasetDigest == null || !datasetDigest.matches("[0-9a-f]{64}")) {
            throw Names.invalid(datasetDigest, "dataset digest", "must be a lower-case hex SHA-256");
        }
        if (steps < 0) {
            throw Names.invalid(Long.toString(steps), "steps", "must be at least 0");
        }
        jobConfig = jobConfig.deepCopy();
        finalLosses = Collections.unmodifiableSortedMap(new TreeMap<>(finalLosses));
        if (dataset == null || codeVersion == null || codeVersion.isEmpty()) {
            throw new IllegalArgumentException("Metadata of run " + runId + " needs a dataset and a code version");
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    VersionMetadata withCreatedAt(Instant at) {
        return new VersionMetadata(
                runId, parentVersion, dataset, datasetDigest, jobConfig, steps, finalLosses, codeVersion, at);
    }

    /** The pretty-printed {@code metadata.json}. */
    public String toJson() {
        JsonObject json = new JsonObject();
        json.addProperty("runId", runId);
        if (parentVersion != null) {
            json.addProperty("parentVersion", parentVersion);
        }
        JsonObject dataset = new JsonObject();
        dataset.addProperty("location", this.dataset.toString());
        dataset.addProperty("datasetJsonSha256", datasetDigest);
        json.add("dataset", dataset);
        json.add("jobConfig", jobConfig);
        json.addProperty("steps", steps);
        JsonObject losses = new JsonObject();
        finalLosses.forEach(losses::addProperty);
        json.add("finalLosses", losses);
        json.addProperty("codeVersion", codeVersion);
        if (createdAt != null) {
            json.addProperty("createdAt", createdAt.toString());
        }
        return new GsonBuilder().setPrettyPrinting().create().toJson(json) + "\n";
    }

    /** Parses {@code metadata.json}; {@code where} names the file in errors. */
    public static VersionMetadata fromJson(String text, String where) throws ZooException {
        try {
            JsonObject json = JsonParser.parseString(text).getAsJsonObject();
            JsonObject dataset = json.getAsJsonObject("dataset");
            SortedMap<String, Double> losses = new TreeMap<>();
            for (Map.Entry<String, JsonElement> e : json.getAsJsonObject("finalLosses").entrySet()) {
                losses.put(e.getKey(), e.getValue().getAsDouble());
            }
            return new VersionMetadata(
                    json.get("runId").getAsString(),
                    json.has("parentVersion") ? json.get("parentVersion").getAsString() : null,
                    URI.create(dataset.get("location").getAsString()),
                    dataset.get("datasetJsonSha256").getAsString(),
                    json.getAsJsonObject("jobConfig"),
                    json.get("steps").getAsLong(),
                    losses,
                    json.get("codeVersion").getAsString(),
                    json.has("createdAt") ? Instant.parse(json.get("createdAt").getAsString()) : null);
        } catch (RuntimeException e) {
            throw new ZooException("Malformed " + where + ": " + e.getMessage(), e);
        }
    }

    /** Builds metadata; {@code set*} fields are required, {@code opt*} fields optional. */
    public static final class Builder {
        private String runId;
        private String parentVersion;
        private URI dataset;
        private String datasetDigest;
        private JsonObject jobConfig = new JsonObject();
        private long steps;
        private Map<String, Double> finalLosses = Map.of();
        private String codeVersion;

        private Builder() {}

        public Builder setRunId(String runId) {
            this.runId = runId;
            return this;
        }

        public Builder setDataset(URI location, String datasetJsonSha256) {
            this.dataset = location;
            this.datasetDigest = datasetJsonSha256;
            return this;
        }

        public Builder setJobConfig(JsonObject jobConfig) {
            this.jobConfig = jobConfig;
            return this;
        }

        public Builder setSteps(long steps) {
            this.steps = steps;
            return this;
        }

        public Builder setFinalLosses(Map<String, Double> finalLosses) {
            this.finalLosses = finalLosses;
            return this;
        }

        public Builder setCodeVersion(String codeVersion) {
            this.codeVersion = codeVersion;
            return this;
        }

        /** The version this one was fine-tuned or resumed from, as {@code name:version}. */
        public Builder optParentVersion(String parentVersion) {
            this.parentVersion = parentVersion;
            return this;
        }

        public VersionMetadata build() {
            return new VersionMetadata(
                    runId, parentVersion, dataset, datasetDigest, jobConfig, steps, new TreeMap<>(finalLosses), codeVersion,
                    null);
        }
    }
}
