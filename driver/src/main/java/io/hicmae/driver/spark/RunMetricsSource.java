package io.hicmae.driver.spark;

import com.codahale.metrics.Gauge;
import com.codahale.metrics.MetricRegistry;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.SparkContext;
import org.apache.spark.SparkEnv;
import org.apache.spark.metrics.source.Source;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;

/**
 * A training run's live values as a Spark metrics {@link Source} named {@value #NAME} on the driver, so that every
 * sink Spark has (PrometheusServlet, JMX, CSV, Graphite, ...) reports them. Fed by the progress stream
 * ({@link #accept}) and by the driver ({@link #attempt}, {@link #worldSize}). Names carry their units:
 *
 * <ul>
 *   <li>gauges: {@code step}, {@code total_steps}, {@code epoch}, {@code loss} and {@code loss_<term>} (pre-training:
 *       video, audio, contrastive), {@code val_<score>} (fine-tuning), {@code lr}, {@code grad_norm},
 *       {@code clips_per_second}, {@code data_wait_ms}, {@code compute_ms}, {@code allreduce_ms},
 *       {@code optimizer_ms}, {@code checkpoint_ms}, {@code validation_ms} (the newest step's), {@code world_size},
 *       {@code attempt}, {@code last_checkpoint_step}, {@code last_checkpoint_age_seconds};</li>
 *   <li>totals (monotonic over the whole run, attempts added up; gauges, so use them as counters):
 *       {@code steps_total}, {@code clips_total}, {@code skipped_steps_total}, {@code attempts_total},
 *       {@code progress_lines_dropped_total}, and {@code <timing>_ms_total} for each timing above. They are gauges
 *       rather than Dropwizard counters because counters added to a source did not reliably reach Spark's
 *       PrometheusServlet when earlier SparkContexts had lived in the same JVM (seen in the tests).</li>
 * </ul>
 *
 * A gauge appears with its first value. The run is identified by Spark's {@code spark.metrics.namespace}, which
 * {@link #register} sets to the run id unless the user set it: PrometheusServlet then serves
 * {@code metrics_<run id>_driver_hicmae_step_Value{type="gauges"}} (non-alphanumerics as {@code _}).
 */
public final class RunMetricsSource implements Source, AutoCloseable {

    private static final Logger LOG = LogManager.getLogger(RunMetricsSource.class);
    public static final String NAME = "hicmae";
    static final String NAMESPACE_KEY = "spark.metrics.namespace";
    /** The namespace this class last set, so a later run of the same session may replace it (and no other). */
    private static final AtomicReference<String> OWN_NAMESPACE = new AtomicReference<>();

    /** Progress fields to gauge names; every other numeric field not listed in {@link #NOT_GAUGED} is a loss term. */
    private static final Map<String, String> GAUGES = Map.ofEntries(
            Map.entry("step", "step"), Map.entry("total_steps", "total_steps"), Map.entry("epoch", "epoch"),
            Map.entry("lr", "lr"), Map.entry("grad_norm", "grad_norm"), Map.entry("loss", "loss"),
            Map.entry("ms_data", "data_wait_ms"), Map.entry("ms_compute", "compute_ms"),
            Map.entry("ms_allreduce", "allreduce_ms"), Map.entry("ms_optimizer", "optimizer_ms"),
            Map.entry("ms_checkpoint", "checkpoint_ms"), Map.entry("ms_validation", "validation_ms"),
            Map.entry("world_size", "world_size"), Map.entry("last_checkpoint_step", "last_checkpoint_step"));
    private static final Set<String> NOT_GAUGED = Set.of("clips", "steps_total", "clips_total", "wall_ms_total",
            "skipped_steps_total", "dropped_total", "attempt");

    private final MetricRegistry registry = new MetricRegistry();
    private final Map<String, Double> values = new ConcurrentHashMap<>();
    private final Map<String, Long> totals = new ConcurrentHashMap<>();
    private final Map<String, Long> base = new ConcurrentHashMap<>();
    private final Map<String, Double> baseMs = new ConcurrentHashMap<>();
    private final Map<String, Long> streamCounts = new ConcurrentHashMap<>();
    private final Map<String, Double> streamMs = new ConcurrentHashMap<>();
    private final LongSupplier clockMs;
    private String stream;
    private double lastWallMs;
    private long lastClips;
    private long checkpointSeenAtMs = -1;
    private SparkEnv registeredIn;
    private java.util.function.ObjLongConsumer<Map<String, Double>> listener;
    private Map<String, Double> updated;

    public RunMetricsSource() {
        this(System::currentTimeMillis);
    }

    /** A source with its own clock (tests). */
    RunMetricsSource(LongSupplier clockMs) {
        this.clockMs = clockMs;
    }

    /**
     * Adds the metrics that exist from the start, after registration, so that every metric reaches Spark's registry
     * the same way (as it is added to the source's).
     */
    private synchronized void basics() {
        if (!registry.getGauges().containsKey("last_checkpoint_age_seconds")) {
            registry.register("last_checkpoint_age_seconds", (Gauge<Double>) () -> checkpointSeenAtMs < 0 ? 0.0
                    : (clockMs.getAsLong() - checkpointSeenAtMs) / 1000.0);
            for (String c : new String[] {"steps", "clips", "skipped_steps", "attempts", "progress_lines_dropped"}) {
                raise(c + "_total", 0);
            }
        }
    }

    @Override
    public String sourceName() {
        return NAME;
    }

    @Override
    public MetricRegistry metricRegistry() {
        return registry;
    }

    /**
     * Registers with the driver's metrics system under the run id as {@code spark.metrics.namespace}, unless the
     * user chose a namespace. Returns this source.
     */
    public RunMetricsSource register(SparkContext sc, String runId) {
        String ns = sc.conf().get(NAMESPACE_KEY, null);
        if (ns == null || ns.equals(OWN_NAMESPACE.get())) {
            sc.conf().set(NAMESPACE_KEY, runId);
            OWN_NAMESPACE.set(runId);
        }
        SparkEnv env = sc.env();
        env.metricsSystem().registerSource(this);
        registeredIn = env;
        basics();
        LOG.info("metrics source {} registered as {}", NAME, env.metricsSystem().buildRegistryName(this));
        return this;
    }

    /** The driver starts attempt {@code n} (1, 2, ...). */
    public synchronized void attempt(int n) {
        basics();
        set("attempt", n);
        raise("attempts_total", n);
    }

    /** The driver's world size (a line's own {@code world_size} wins). */
    public synchronized void worldSize(int n) {
        set("world_size", n);
    }

    /**
     * Hands every progress line's gauges (those the line set, with {@code clips_per_second}) and its step to
     * {@code l}, e.g. the TensorBoard writer, so that it logs the same scalars.
     */
    public synchronized void onUpdate(java.util.function.ObjLongConsumer<Map<String, Double>> l) {
        listener = l;
    }

    /** One progress line (with the totals of {@code ProgressTotals}). */
    public synchronized void accept(JsonObject o) {
        basics();
        updated = new java.util.TreeMap<>();
        try {
            update(o);
        } finally {
            Map<String, Double> u = updated;
            updated = null;
            if (listener != null && o.has("step")) {
                listener.accept(u, o.get("step").getAsLong());
            }
        }
    }

    private void update(JsonObject o) {
        if (o.has("last_checkpoint_step")) {
            long cp = o.get("last_checkpoint_step").getAsLong();
            if (checkpointSeenAtMs < 0 || cp != values.getOrDefault("last_checkpoint_step", -1.0).longValue()) {
                checkpointSeenAtMs = clockMs.getAsLong();
            }
        }
        for (Map.Entry<String, JsonElement> e : o.entrySet()) {
            String k = e.getKey();
            if (!e.getValue().isJsonPrimitive() || !e.getValue().getAsJsonPrimitive().isNumber()
                    || NOT_GAUGED.contains(k) || k.endsWith("_total")) {
                continue;
            }
            set(gaugeName(k), e.getValue().getAsDouble());
        }
        if (!o.has("stream")) {
            return;
        }
        String s = o.get("stream").getAsString();
        if (!s.equals(stream)) { // a new attempt's reporter: its totals start from zero, add the old ones to the base
            streamCounts.forEach((k, v) -> base.merge(k, v, Long::sum));
            streamMs.forEach((k, v) -> baseMs.merge(k, v, Double::sum));
            streamCounts.clear();
            streamMs.clear();
            stream = s;
            lastWallMs = 0;
            lastClips = 0;
        }
        long clips = longOf(o, "clips_total");
        double wall = o.has("wall_ms_total") ? o.get("wall_ms_total").getAsDouble() : 0;
        if (wall > lastWallMs && clips >= lastClips) {
            set("clips_per_second", (clips - lastClips) * 1000.0 / (wall - lastWallMs));
        }
        lastWallMs = wall;
        lastClips = clips;
        total("steps", longOf(o, "steps_total"));
        total("clips", clips);
        total("skipped_steps", longOf(o, "skipped_steps_total"));
        total("progress_lines_dropped", longOf(o, "dropped_total"));
        for (String k : o.keySet()) {
            if (k.startsWith("ms_") && k.endsWith("_total")) {
                String name = gaugeName(k.substring(0, k.length() - "_total".length())) + "_total";
                streamMs.put(name, o.get(k).getAsDouble());
                raise(name, Math.round(streamMs.get(name) + baseMs.getOrDefault(name, 0.0)));
            }
        }
    }

    /** The gauge of a progress field: the table's name, {@code <x>_ms} for {@code ms_<x>}, else a loss term. */
    static String gaugeName(String field) {
        String known = GAUGES.get(field);
        if (known != null) {
            return known;
        }
        if (field.startsWith("ms_")) {
            return field.substring(3) + "_ms";
        }
        return field.startsWith("val_") || field.startsWith("loss_") ? field : "loss_" + field;
    }

    /** The current value of a gauge, or null before its first value (tests, the printer). */
    public Double value(String name) {
        if (name.equals("last_checkpoint_age_seconds")) {
            return (Double) registry.getGauges().get(name).getValue();
        }
        return values.get(name);
    }

    /** The value of a total ({@code steps_total}, ...), 0 before its first. */
    public long total(String name) {
        return totals.getOrDefault(name, 0L);
    }

    private void total(String name, long streamTotal) {
        streamCounts.put(name, streamTotal);
        raise(name + "_total", streamTotal + base.getOrDefault(name, 0L));
    }

    /** Totals only grow: moves {@code name} up to {@code target}, registering its gauge the first time. */
    private void raise(String name, long target) {
        Long old = totals.get(name);
        if (old == null) {
            totals.put(name, Math.max(0, target));
            registry.register(name, (Gauge<Long>) () -> totals.get(name));
        } else if (target > old) {
            totals.put(name, target);
        }
    }

    private void set(String name, double v) {
        if (updated != null) {
            updated.put(name, v);
        }
        if (values.put(name, v) == null) {
            registry.register(name, (Gauge<Double>) () -> values.get(name));
        }
    }

    private static long longOf(JsonObject o, String k) {
        return o.has(k) ? o.get(k).getAsLong() : 0;
    }

    /** Removes the source from the metrics system. */
    @Override
    public void close() {
        if (registeredIn != null) {
            registeredIn.metricsSystem().removeSource(this);
            registeredIn = null;
        }
    }
}
