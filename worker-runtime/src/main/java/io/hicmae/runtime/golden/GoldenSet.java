package io.hicmae.runtime.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.runtime.io.Npz;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;

/** A directory in the golden format: {@code config.json} plus the {@code .npz} files its README describes. */
public final class GoldenSet {

    private final Path dir;
    private final JsonObject config;

    public GoldenSet(Path dir) throws IOException {
        this.dir = dir;
        Path cfg = dir.resolve("config.json");
        if (!Files.isRegularFile(cfg)) {
            throw new NoSuchFileException(cfg.toString(), null, "not a golden directory: config.json is missing");
        }
        this.config = JsonParser.parseString(Files.readString(cfg)).getAsJsonObject();
    }

    public Path dir() {
        return dir;
    }

    public Path configFile() {
        return dir.resolve("config.json");
    }

    public JsonObject config() {
        return config;
    }

    /** Reads {@code name} (e.g. "outputs.npz") into arrays by key, owned by {@code manager}. */
    public Map<String, NDArray> load(NDManager manager, String name) throws IOException {
        return Npz.read(manager, dir.resolve(name));
    }

    /** A tolerance from {@code suggested_tolerances}, or the fallback when the set does not give one. */
    public Tolerance tolerance(String kind, Tolerance fallback) {
        JsonObject t = config.has("suggested_tolerances") ? config.getAsJsonObject("suggested_tolerances") : null;
        if (t == null || !t.has(kind)) {
            return fallback;
        }
        JsonObject k = t.getAsJsonObject(kind);
        return new Tolerance(
                k.has("rtol") ? k.get("rtol").getAsDouble() : 0.0,
                k.has("atol") ? k.get("atol").getAsDouble() : 0.0);
    }
}
