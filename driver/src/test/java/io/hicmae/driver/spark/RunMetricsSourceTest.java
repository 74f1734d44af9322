package io.hicmae.driver.spark;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RunMetricsSourceTest {

    private static JsonObject json(String s) {
        return JsonParser.parseString(s).getAsJsonObject();
    }

    /** Per-step lines of one reporter (one attempt), with the totals rank 0 adds. */
    private static JsonObject step(ProgressTotals totals, long step, long nowNanos, double msCheckpoint) {
        String line = "{\"step\":" + step + ",\"total_steps\":10,\"epoch\":0,\"loss\":1.5,\"video\":0.7,"
                + "\"audio\":0.6,\"contrastive\":0.2,\"contrastive_layers\":[0.1,0.1],\"lr\":1e-4,\"grad_norm\":2.5,"
                + "\"clips\":8,\"ms_data\":2,\"ms_compute\":100,\"ms_allreduce\":10,\"ms_optimizer\":5,"
                + "\"ms_checkpoint\":" + msCheckpoint + "}";
        return json(totals.add(line, nowNanos, 0));
    }

    @Test
    void gaugesCarryUnitsAndCountersAddUpAttemptsWithGapsInTheStream() {
        AtomicLong clock = new AtomicLong(1_000_000);
        RunMetricsSource m = new RunMetricsSource(clock::get);
        assertNull(m.value("step"), "a gauge appears with its first value");
        m.attempt(1);
        m.worldSize(2);
        ProgressTotals first = new ProgressTotals(0);
        m.accept(step(first, 1, 1_000_000_000L, 0));
        step(first, 2, 2_000_000_000L, 30); // dropped on the way: the next line's totals hold it
        m.accept(step(first, 3, 4_000_000_000L, 0));
        assertEquals(3.0, m.value("step"));
        assertEquals(3, m.total("steps_total"));
        assertEquals(24, m.total("clips_total"));
        assertEquals(30, m.total("checkpoint_ms_total"));
        assertEquals(300, m.total("compute_ms_total"));
        assertEquals(2.0, m.value("last_checkpoint_step"));
        assertEquals(8.0 * 2 / 3, m.value("clips_per_second"), 1e-9, "16 clips over 3 s since the last line seen");
        assertEquals(0.7, m.value("loss_video"));
        assertEquals(1.5, m.value("loss"));
        assertEquals(100.0, m.value("compute_ms"));
        assertEquals(2.0, m.value("data_wait_ms"));
        assertEquals(2.0, m.value("world_size"));
        clock.addAndGet(5_000);
        assertEquals(5.0, m.value("last_checkpoint_age_seconds"), 1e-9);

        m.attempt(2); // resumed from step 2: a new reporter whose totals start at zero
        ProgressTotals second = new ProgressTotals(0);
        m.accept(step(second, 3, 1_000_000_000L, 40));
        assertEquals(4, m.total("steps_total"), "3 steps of attempt 1 and 1 of attempt 2");
        assertEquals(70, m.total("checkpoint_ms_total"));
        assertEquals(2, m.total("attempts_total"));
        assertEquals(3.0, m.value("last_checkpoint_step"));
        assertEquals(0.0, m.value("last_checkpoint_age_seconds"), 1e-9);
        assertTrue(m.metricRegistry().getGauges().containsKey("clips_per_second"));
        assertTrue(m.metricRegistry().getGauges().containsKey("skipped_steps_total"));
        assertEquals("optimizer_ms", RunMetricsSource.gaugeName("ms_optimizer"));
        assertEquals("val_war", RunMetricsSource.gaugeName("val_war"));
    }
}
