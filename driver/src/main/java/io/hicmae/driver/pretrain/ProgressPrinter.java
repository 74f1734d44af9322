package io.hicmae.driver.pretrain;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.PrintStream;

/** Prints rank 0's per-step metrics on the driver's console: step / total, loss terms, clips/s and ETA. */
final class ProgressPrinter {

    private final PrintStream out;
    private final long total;
    private long startNanos;
    private long startStep = -1;

    ProgressPrinter(PrintStream out, long total) {
        this.out = out;
        this.total = total;
    }

    synchronized void accept(String line) {
        JsonObject o;
        try {
            o = JsonParser.parseString(line).getAsJsonObject();
        } catch (RuntimeException e) {
            return; // a malformed line from a peer is not worth failing the driver for
        }
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
        out.printf("step %d/%d loss %.4f (video %.4f, audio %.4f, contrastive %.4f) lr %.2e %.1f clips/s ETA %s%n",
                step, total, o.get("loss").getAsDouble(), o.get("video").getAsDouble(), o.get("audio").getAsDouble(),
                o.get("contrastive").getAsDouble(), o.get("lr").getAsDouble(), clipsPerSecond, eta);
    }

    private static String formatDuration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%dh%02dm", s / 3600, (s % 3600) / 60)
                : String.format("%dm%02ds", s / 60, s % 60);
    }
}
