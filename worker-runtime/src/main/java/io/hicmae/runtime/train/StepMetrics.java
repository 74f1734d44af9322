package io.hicmae.runtime.train;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;

/**
 * Writes a step's numbers into its metrics line (metrics.jsonl, the progress channel) without ever writing NaN or
 * infinity as a number: JSON has none, and a reader would take it for a value. A non-finite value is written as
 * null.
 */
public final class StepMetrics {

    private StepMetrics() {}

    /** {@code key: value}, or {@code key: null} when the value is NaN or infinite. */
    public static void put(JsonObject line, String key, double value) {
        if (Double.isFinite(value)) {
            line.addProperty(key, value);
        } else {
            line.add(key, JsonNull.INSTANCE);
        }
    }

    /** Replaces every NaN or infinite number in {@code line} (top level and inside arrays) with null. */
    public static void nullNonFinite(JsonObject line) {
        for (String key : line.keySet()) {
            JsonElement e = line.get(key);
            if (nonFinite(e)) {
                line.add(key, JsonNull.INSTANCE);
            } else if (e.isJsonArray()) {
                JsonArray a = e.getAsJsonArray();
                for (int i = 0; i < a.size(); i++) {
                    if (nonFinite(a.get(i))) {
                        a.set(i, JsonNull.INSTANCE);
                    }
                }
            }
        }
    }

    private static boolean nonFinite(JsonElement e) {
        return e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber()
                && !Double.isFinite(e.getAsJsonPrimitive().getAsDouble());
    }

    /**
     * The post-reduce outcome: {@code lr}, {@code grad_norm} (null when not finite), {@code skipped} (true or
     * false), {@code skip_reason} ({@code nonfinite} or {@code overflow}, when skipped), {@code skipped_steps} (the
     * skip counter, every reason) and {@code loss_scale}.
     */
    public static void putOutcome(JsonObject line, StepOutcome out) {
        put(line, "lr", out.lr());
        put(line, "grad_norm", out.gradNorm());
        line.addProperty("skipped", !out.applied());
        if (!out.applied()) {
            line.addProperty("skip_reason", out.skip().metric());
        }
        line.addProperty("skipped_steps", out.skippedSteps());
        put(line, "loss_scale", out.lossScale());
    }
}
