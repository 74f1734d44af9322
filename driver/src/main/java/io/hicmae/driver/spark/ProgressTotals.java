package io.hicmae.driver.spark;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Turns rank 0's per-step metrics lines into lines that also carry cumulative values, so that the lossy progress
 * channel loses nothing by dropping a line: the next one holds every total. Added fields: {@code stream} (one id per
 * reporter, i.e. per attempt, so the driver can add up attempts), {@code steps_total}, {@code clips_total},
 * {@code <ms_key>_total} for every {@code ms_*} timing, {@code wall_ms_total} (since the reporter started),
 * {@code skipped_steps_total} (lines with {@code "skipped": true}) and {@code last_checkpoint_step} (the newest step
 * whose line has {@code ms_checkpoint > 0} or {@code "checkpoint": true}). Per-step values (losses, lr, gradient
 * norm) pass through as they are: they are gauges, the newest wins.
 */
final class ProgressTotals {

    private final String stream = UUID.randomUUID().toString();
    private final long startNanos;
    private final Map<String, Double> msTotals = new LinkedHashMap<>();
    private long steps;
    private long clips;
    private long skipped;
    private long lastCheckpoint = -1;

    ProgressTotals(long startNanos) {
        this.startNanos = startNanos;
    }

    /** The line with the totals after it; a line that is not a JSON object passes unchanged. */
    String add(String line, long nowNanos, long dropped) {
        JsonObject o;
        try {
            o = JsonParser.parseString(line).getAsJsonObject();
        } catch (RuntimeException e) {
            return line;
        }
        steps++;
        clips += o.has("clips") ? o.get("clips").getAsLong() : 0;
        if (o.has("skipped") && o.get("skipped").getAsBoolean()) {
            skipped++;
        }
        boolean checkpoint = o.has("checkpoint") && o.get("checkpoint").getAsBoolean();
        for (Map.Entry<String, JsonElement> e : o.entrySet()) {
            String k = e.getKey();
            if (k.startsWith("ms_") && e.getValue().isJsonPrimitive() && e.getValue().getAsJsonPrimitive().isNumber()) {
                double v = e.getValue().getAsDouble();
                msTotals.merge(k, v, Double::sum);
                checkpoint |= k.equals("ms_checkpoint") && v > 0;
            }
        }
        if (checkpoint && o.has("step")) {
            lastCheckpoint = o.get("step").getAsLong();
        }
        o.addProperty("stream", stream);
        o.addProperty("steps_total", steps);
        o.addProperty("clips_total", clips);
        msTotals.forEach((k, v) -> o.addProperty(k + "_total", v));
        o.addProperty("wall_ms_total", (nowNanos - startNanos) / 1e6);
        o.addProperty("skipped_steps_total", skipped);
        o.addProperty("dropped_total", dropped);
        if (lastCheckpoint >= 0) {
            o.addProperty("last_checkpoint_step", lastCheckpoint);
        }
        return o.toString();
    }
}
