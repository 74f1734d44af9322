package io.hicmae.driver.spark;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.util.List;
import java.util.function.Consumer;

/**
 * The driver's sink for rank 0's progress lines: parses each line once and hands it to every consumer in order
 * (console printer, metrics source, TensorBoard writer). A malformed line, or a consumer that throws, is logged and
 * skipped: progress never fails the job.
 */
public final class ProgressFeed implements Consumer<String> {

    private static final Logger LOG = LogManager.getLogger(ProgressFeed.class);
    private final List<Consumer<JsonObject>> consumers;

    public ProgressFeed(List<Consumer<JsonObject>> consumers) {
        this.consumers = List.copyOf(consumers);
    }

    @Override
    public void accept(String line) {
        JsonObject o;
        try {
            o = JsonParser.parseString(line).getAsJsonObject();
        } catch (RuntimeException e) {
            LOG.debug("malformed progress line skipped: {}", e.toString());
            return;
        }
        for (Consumer<JsonObject> c : consumers) {
            try {
                c.accept(o);
            } catch (RuntimeException e) {
                LOG.warn("progress consumer {} failed on step {}: {}", c, o.get("step"), e.toString());
            }
        }
    }
}
