package io.hicmae.runtime.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Objects;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * What a labelled dataset's labels mean: its kind and the names of its classes (index = {@link ClipLabels#category})
 * or of its dimensions (in the order of {@link ClipLabels#dimensions}). Stored once per dataset under
 * {@value ClipSchema#DATASET_LABELS} in {@value ClipSchema#DATASET_JSON} as {@code {"kind": "categorical",
 * "names": ["angry", "happy"]}}; an unlabelled dataset has no such key.
 *
 * @param kind categorical or dimensional
 * @param names at least one, distinct and not blank
 */
public record LabelSpace(Kind kind, List<String> names) {

    /** The two kinds of label. */
    public enum Kind {
        /** One class index per clip. */
        CATEGORICAL,
        /** One float per named dimension per clip, e.g. arousal and valence. */
        DIMENSIONAL;

        /** The lower-case name stored in {@value ClipSchema#DATASET_JSON}. */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private static final String KIND = "kind";
    private static final String NAMES = "names";

    public LabelSpace {
        Objects.requireNonNull(kind, "kind");
        names = List.copyOf(names);
        if (names.isEmpty()) {
            throw new IllegalArgumentException("Invalid label space: a " + kind.label() + " label space needs at least"
                    + " one name");
        }
        if (names.stream().anyMatch(String::isBlank)) {
            throw new IllegalArgumentException("Invalid label space " + names + ": a name is blank");
        }
        if (new HashSet<>(names).size() != names.size()) {
            throw new IllegalArgumentException("Invalid label space " + names + ": names repeat");
        }
    }

    /** Classes of a categorical space, dimensions of a dimensional one. */
    public int size() {
        return names.size();
    }

    /**
     * Checks that {@code labels} fit this space: a class index below {@link #size()}, or exactly {@link #size()}
     * dimensions.
     *
     * @param where names the clip in the error, e.g. file and row
     */
    public void check(ClipLabels labels, String where) {
        if (kind == Kind.CATEGORICAL) {
            if (labels.category() < 0 || labels.category() >= names.size()) {
                throw new IllegalArgumentException(where + ": label " + labels.category() + " is not a class index"
                        + " of the " + names.size() + " classes " + names);
            }
        } else if (labels.dimensions().length != names.size()) {
            throw new IllegalArgumentException(where + ": " + labels.dimensions().length + " label dimensions, the"
                    + " label space has " + names.size() + " " + names);
        }
    }

    /** The value stored under {@value ClipSchema#DATASET_LABELS}: a map for Gson. */
    public Map<String, Object> toJson() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(KIND, kind.label());
        m.put(NAMES, names);
        return m;
    }

    /**
     * The label space of a parsed {@value ClipSchema#DATASET_JSON}; empty when it has none (an unlabelled or a
     * version-1 dataset).
     *
     * @param where names the file in errors
     * @throws IOException when the key is there but malformed
     */
    public static Optional<LabelSpace> fromJson(JsonObject datasetJson, String where) throws IOException {
        JsonElement e = datasetJson.get(ClipSchema.DATASET_LABELS);
        if (e == null || e.isJsonNull()) {
            return Optional.empty();
        }
        try {
            JsonObject o = e.getAsJsonObject();
            String kind = o.get(KIND).getAsString();
            Kind k = switch (kind) {
                case "categorical" -> Kind.CATEGORICAL;
                case "dimensional" -> Kind.DIMENSIONAL;
                default -> throw new IOException(where + ": " + ClipSchema.DATASET_LABELS + "." + KIND + " is '" + kind
                        + "', expected categorical or dimensional");
            };
            List<String> names = new ArrayList<>();
            for (JsonElement n : o.getAsJsonArray(NAMES)) {
                names.add(n.getAsString());
            }
            return Optional.of(new LabelSpace(k, names));
        } catch (RuntimeException bad) { // Gson's IllegalStateException, NullPointerException, ours
            throw new IOException(where + ": malformed " + ClipSchema.DATASET_LABELS + " " + e + ": " + bad.getMessage(),
                    bad);
        }
    }

    /**
     * Reads the label space of a dataset from its {@value ClipSchema#DATASET_JSON}; empty for an unlabelled dataset
     * and for one without that file (a bare {@code _SUCCESS} dataset).
     *
     * @param datasetUri the dataset root on any Hadoop file system
     */
    public static Optional<LabelSpace> read(String datasetUri, Configuration conf) throws IOException {
        Path file = new Path(new Path(URI.create(datasetUri)), ClipSchema.DATASET_JSON);
        FileSystem fs = file.getFileSystem(conf);
        if (!fs.exists(file)) {
            return Optional.empty();
        }
        JsonElement json;
        try (InputStream in = fs.open(file)) {
            json = JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (JsonParseException e) {
            throw new IOException(file + ": not JSON: " + e.getMessage(), e);
        }
        if (!json.isJsonObject()) {
            throw new IOException(file + ": not a JSON object");
        }
        return fromJson(json.getAsJsonObject(), file.toString());
    }
}
