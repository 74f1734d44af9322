package io.hicmae.zoo;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a training run's driver last said about it, kept in the run area as {@value RunArea#STATUS_FILE} (small,
 * replaced whole, so a reader sees the old or the new one). While it runs the driver renews {@code heartbeatUntil};
 * a run still {@code running} after that is reported {@code abandoned}.
 *
 * @param runId the run
 * @param model the model it publishes
 * @param state {@value #RUNNING}, {@value #FINISHED} or {@value #FAILED}
 * @param plannedSteps steps the run plans in all
 * @param worldSize ranks
 * @param step the newest step reported (0 before the first)
 * @param losses the newest step's loss terms
 * @param holder who runs it (user, host, Spark application)
 * @param heartbeatUntil until when the holder vouches for it; null once it ended
 * @param startedAt when this driver started the run
 * @param updatedAt when this file was written
 * @param publishedVersion the version a finished run published ({@code model:v000001}), else null
 * @param lastError the error a failed run ended with, else null
 */
public record RunStatus(String runId, String model, String state, long plannedSteps, int worldSize, long step,
        Map<String, Double> losses, String holder, Instant heartbeatUntil, Instant startedAt, Instant updatedAt,
        String publishedVersion, String lastError) {

    public static final String RUNNING = "running";
    public static final String FINISHED = "finished";
    public static final String FAILED = "failed";
    /** Reported, never written: running but its heartbeat expired. */
    public static final String ABANDONED = "abandoned";

    public RunStatus {
        Names.runId(runId);
        if (!state.equals(RUNNING) && !state.equals(FINISHED) && !state.equals(FAILED)) {
            throw new IllegalArgumentException("unknown run state " + Names.quote(state));
        }
        losses = Collections.unmodifiableSortedMap(new TreeMap<>(losses));
    }

    /** The state as of {@code now}: {@value #ABANDONED} for a running run whose heartbeat has expired. */
    public String stateAt(Instant now) {
        return state.equals(RUNNING) && heartbeatUntil != null && heartbeatUntil.isBefore(now) ? ABANDONED : state;
    }

    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        o.addProperty("runId", runId);
        o.addProperty("model", model);
        o.addProperty("state", state);
        o.addProperty("plannedSteps", plannedSteps);
        o.addProperty("worldSize", worldSize);
        o.addProperty("step", step);
        JsonObject l = new JsonObject();
        losses.forEach(l::addProperty);
        o.add("losses", l);
        o.addProperty("holder", holder);
        o.addProperty("heartbeatUntil", heartbeatUntil == null ? null : heartbeatUntil.toString());
        o.addProperty("startedAt", startedAt == null ? null : startedAt.toString());
        o.addProperty("updatedAt", updatedAt == null ? null : updatedAt.toString());
        o.addProperty("publishedVersion", publishedVersion);
        o.addProperty("lastError", lastError);
        return o;
    }

    public byte[] toBytes() {
        return new GsonBuilder().serializeNulls().setPrettyPrinting().create().toJson(toJson())
                .getBytes(StandardCharsets.UTF_8);
    }

    /** Parses a status file; throws naming what is wrong. */
    public static RunStatus parse(byte[] bytes) {
        JsonObject o = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8)).getAsJsonObject();
        Map<String, Double> losses = new TreeMap<>();
        if (o.has("losses") && o.get("losses").isJsonObject()) {
            o.getAsJsonObject("losses").entrySet().forEach(e -> losses.put(e.getKey(), e.getValue().getAsDouble()));
        }
        return new RunStatus(str(o, "runId"), str(o, "model"), str(o, "state"), o.get("plannedSteps").getAsLong(),
                o.get("worldSize").getAsInt(), o.get("step").getAsLong(), losses, str(o, "holder"),
                instant(o, "heartbeatUntil"), instant(o, "startedAt"), instant(o, "updatedAt"),
                str(o, "publishedVersion"), str(o, "lastError"));
    }

    private static String str(JsonObject o, String k) {
        JsonElement e = o.get(k);
        return e == null || e.isJsonNull() ? null : e.getAsString();
    }

    private static Instant instant(JsonObject o, String k) {
        String s = str(o, k);
        return s == null ? null : Instant.parse(s);
    }
}
