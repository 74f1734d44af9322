package io.hicmae.driver.spark;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.RunStatus;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.SparkContext;

import java.net.InetAddress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The driver's side of a run's status file ({@link RunStatus}, read by {@code hicmae runs}): written as
 * {@code running} at the start, renewed every {@link #HEARTBEAT} with the newest step and losses from the progress
 * stream (a heartbeat valid for {@link #HEARTBEAT_VALID}, after which readers call the run abandoned), and
 * {@code finished} with the published version or {@code failed} with the error at the end. Writing the status never
 * fails or slows the job: the renewals run on their own thread, and a failed write is logged.
 */
public final class RunStatusWriter implements AutoCloseable {

    private static final Logger LOG = LogManager.getLogger(RunStatusWriter.class);
    public static final Duration HEARTBEAT = Duration.ofSeconds(30);
    public static final Duration HEARTBEAT_VALID = Duration.ofSeconds(100); // below the operator's 120 s retry interval
    /** Progress fields that are not loss terms. */
    private static final Set<String> NOT_LOSSES = Set.of("step", "total_steps", "epoch", "lr", "grad_norm", "clips",
            "world_size", "resumed", "attempt", "last_checkpoint_step");

    private final ModelZoo zoo;
    private final Clock clock;
    private final String runId;
    private final String model;
    private final long planned;
    private final String holder;
    private final Instant startedAt;
    private final ScheduledExecutorService timer;
    private int worldSize;
    private long step;
    private Map<String, Double> losses = Map.of();
    private boolean ended;

    RunStatusWriter(ModelZoo zoo, Clock clock, String runId, String model, long planned, int worldSize, String holder,
            Duration heartbeat) {
        this.zoo = zoo;
        this.clock = clock;
        this.runId = runId;
        this.model = model;
        this.planned = planned;
        this.worldSize = worldSize;
        this.holder = holder;
        this.startedAt = clock.instant();
        write(RunStatus.RUNNING, null, null);
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "hicmae-run-status");
            t.setDaemon(true);
            return t;
        });
        timer.scheduleWithFixedDelay(this::renew, heartbeat.toMillis(), heartbeat.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Writes the run as running now and renews it every {@link #HEARTBEAT}. */
    public static RunStatusWriter start(ModelZoo zoo, SparkContext sc, String runId, String model, long planned,
            int worldSize) {
        return new RunStatusWriter(zoo, Clock.systemUTC(), runId, model, planned, worldSize, holder(sc), HEARTBEAT);
    }

    /** Who runs the job: user, host and Spark application id. */
    static String holder(SparkContext sc) {
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "unknown-host";
        }
        return System.getProperty("user.name") + "@" + host + " (Spark application " + sc.applicationId() + ")";
    }

    /** One progress line: the newest step, its loss terms and the world size. */
    public synchronized void accept(JsonObject o) {
        if (o.has("step")) {
            step = Math.max(step, o.get("step").getAsLong());
        }
        if (o.has("world_size")) {
            worldSize = o.get("world_size").getAsInt();
        }
        Map<String, Double> l = new TreeMap<>();
        for (Map.Entry<String, JsonElement> e : o.entrySet()) {
            String k = e.getKey();
            if (!NOT_LOSSES.contains(k) && !k.startsWith("ms_") && !k.endsWith("_total") && e.getValue().isJsonPrimitive()
                    && e.getValue().getAsJsonPrimitive().isNumber() && Double.isFinite(e.getValue().getAsDouble())) {
                l.put(k, e.getValue().getAsDouble());
            }
        }
        losses = l;
    }

    /** The run published {@code version}. */
    public synchronized void finished(String version, long steps) {
        step = Math.max(step, steps);
        end(RunStatus.FINISHED, version, null);
    }

    /** The run failed with {@code error}. */
    public synchronized void failed(Throwable error) {
        end(RunStatus.FAILED, null, BarrierStage.rootMessage(error));
    }

    private void end(String state, String version, String error) {
        if (!ended) {
            ended = true;
            timer.shutdownNow();
            write(state, version, error);
        }
    }

    private synchronized void renew() {
        if (!ended) {
            write(RunStatus.RUNNING, null, null);
        }
    }

    private void write(String state, String version, String error) {
        Instant now = clock.instant();
        try {
            zoo.runs().writeStatus(new RunStatus(runId, model, state, planned, worldSize, step, losses, holder,
                    state.equals(RunStatus.RUNNING) ? now.plus(HEARTBEAT_VALID) : null, startedAt, now, version,
                    error));
        } catch (java.io.IOException | RuntimeException e) {
            LOG.warn("could not write the status of run {} ({}): {}", runId, state, e.toString());
        }
    }

    /** Stops the renewals; a run that neither finished nor failed is left to expire (abandoned). */
    @Override
    public synchronized void close() {
        timer.shutdownNow();
    }
}
