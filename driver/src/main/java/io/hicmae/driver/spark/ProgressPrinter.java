package io.hicmae.driver.spark;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.PrintStream;
import java.util.function.Function;

/**
 * Prints rank 0's per-step metrics lines on the driver's console: step / total, the job's own description of the
 * line (loss terms, lr, validation), clips/s and ETA.
 */
public final class ProgressPrinter {

    private final PrintStream out;
    private final long total;
    private final Function<JsonObject, String> describe;
    private long startNanos;
    private long startStep = -1;

    /** @param describe the line's middle part, e.g. {@code loss 0.1234 lr 1.00e-04} */
    public ProgressPrinter(PrintStream out, long total, Function<JsonObject, String> describe) {
        this.out = out;
        this.total = total;
        this.describe = describe;
    }

    /** Prints one metrics line; a malformed one is skipped. */
    public void accept(String line) {
        JsonObject o;
        try {
            o = JsonParser.parseString(line).getAsJsonObject();
        } catch (RuntimeException e) {
            return; // a malformed line from a peer is not worth failing the driver for
        }
        accept(o);
    }

    /** Prints one parsed metrics line. */
    public synchronized void accept(JsonObject o) {
        long step = o.get("step").getAsLong();
        long now = System.nanoTime();
        if (startStep < 0 || step <= startStep) {
            startStep = step;
            startNanos = now;
        }
        double seconds = (now - startNanos) / 1e9;
        double stepsPerSecond = seconds > 0 ? (step - startStep) / seconds : 0;
        double clipsPerSecond = stepsPerSecond * o.get("clips").getAsDouble();
        String eta = stepsPerSecond > 0 ? formatDuration((total - step) / stepsPerSecond) : "-";
        out.printf("step %d/%d %s %.1f clips/s ETA %s%n", step, total, describe.apply(o), clipsPerSecond, eta);
    }

    private static String formatDuration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, (s % 3600) / 60)
                : String.format("%dm%02ds", s / 60, s % 60);
    }
}
