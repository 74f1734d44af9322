package io.hicmae.driver.spark;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.zoo.ModelZoo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The driver's request that a shrunken elastic stage grow: published in the run's area of the zoo
 * ({@code _runs/<run>/grow.json}, replaced whole) when more task slots come back while the stage runs, read by rank 0
 * at the ranks' step-boundary agreement ({@link TrainingRankTask}), which then stops the stage at a checkpoint so
 * that the driver resubmits it on {@code to} ranks. A request names its attempt: one left by an earlier attempt or
 * driver is ignored. The driver-to-ranks channel is the zoo because every rank can read it, on every file system,
 * while the progress channel only goes from rank 0 to the driver and may drop lines.
 *
 * @param attempt the stage attempt that should grow
 * @param from its world size
 * @param to the world size the free slots allow
 * @param reason why, for the console and the stop's message
 */
public record GrowRequest(int attempt, int from, int to, String reason) {

    /** The request's file name in the run's area. */
    public static final String FILE = "grow.json";

    public GrowRequest {
        if (attempt < 1 || from < 1 || to <= from) {
            throw new IllegalArgumentException("Invalid grow request: attempt " + attempt + " from " + from
                    + " to " + to + " rank(s)");
        }
    }

    /** Replaces the run's request with this one. */
    public void publish(ModelZoo zoo, String runId) throws IOException {
        JsonObject o = new JsonObject();
        o.addProperty("attempt", attempt);
        o.addProperty("from", from);
        o.addProperty("to", to);
        o.addProperty("reason", reason);
        zoo.runs().replaceFile(runId, FILE, o.toString().getBytes(StandardCharsets.UTF_8));
    }

    /** Withdraws any request (a run's driver starts with none). */
    public static void clear(ModelZoo zoo, String runId) throws IOException {
        if (zoo.runs().readFile(runId, FILE).isPresent()) {
            zoo.runs().replaceFile(runId, FILE, "{}".getBytes(StandardCharsets.UTF_8));
        }
    }

    /** The run's request for {@code attempt}, or empty when there is none for it. */
    public static Optional<GrowRequest> read(ModelZoo zoo, String runId, int attempt) throws IOException {
        Optional<byte[]> bytes = zoo.runs().readFile(runId, FILE);
        if (bytes.isEmpty()) {
            return Optional.empty();
        }
        JsonObject o = JsonParser.parseString(new String(bytes.get(), StandardCharsets.UTF_8)).getAsJsonObject();
        if (!o.has("attempt") || o.get("attempt").getAsInt() != attempt) {
            return Optional.empty();
        }
        return Optional.of(new GrowRequest(attempt, o.get("from").getAsInt(), o.get("to").getAsInt(),
                o.get("reason").getAsString()));
    }

    /** The stop's message: the ranks' checkpoint ends the attempt so that it can grow. */
    public String stopMessage() {
        return "growing from " + from + " to " + to + " rank(s): " + reason;
    }
}
