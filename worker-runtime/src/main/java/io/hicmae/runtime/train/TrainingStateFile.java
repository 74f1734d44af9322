package io.hicmae.runtime.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.io.Safetensors;
import io.hicmae.runtime.io.WeightsFormatException;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A {@link TrainingState} as one safetensors file: parameters under {@code param.<key>}, moments under
 * {@code m.<key>} and {@code v.<key>}, the step in the metadata. Written atomically (temp file, then rename).
 */
public final class TrainingStateFile {

    private static final String PARAM = "param.";
    private static final String STEP = "step";

    private TrainingStateFile() {}

    public static void write(Path file, TrainingState state, Map<String, String> metadata) throws IOException {
        Map<String, NDArray> all = new LinkedHashMap<>();
        state.parameters().forEach((k, v) -> all.put(PARAM + k, v));
        all.putAll(state.moments());
        Map<String, String> meta = new LinkedHashMap<>(metadata);
        meta.put(STEP, Long.toString(state.step()));
        Safetensors.write(file, all, meta);
    }

    /** Reads a state written by {@link #write}; arrays belong to {@code manager}. */
    public static TrainingState read(NDManager manager, Path file) throws IOException {
        Map<String, String> meta = Safetensors.readMetadata(file);
        String step = meta.get(STEP);
        if (step == null) {
            throw new WeightsFormatException(file, "not a training state: metadata has no \"step\"");
        }
        Map<String, NDArray> params = new LinkedHashMap<>();
        Map<String, NDArray> moments = new LinkedHashMap<>();
        for (Map.Entry<String, NDArray> e : Safetensors.read(manager, file).entrySet()) {
            if (e.getKey().startsWith(PARAM)) {
                params.put(e.getKey().substring(PARAM.length()), e.getValue());
            } else {
                moments.put(e.getKey(), e.getValue());
            }
        }
        try {
            return new TrainingState(params, moments, Long.parseLong(step));
        } catch (NumberFormatException e) {
            throw new WeightsFormatException(file, "metadata \"step\" is not a number: " + step, e);
        }
    }
}
