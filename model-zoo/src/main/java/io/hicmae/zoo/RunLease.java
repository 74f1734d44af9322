package io.hicmae.zoo;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.Closeable;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One writer per run: the lease {@code _runs/<runId>/lease/<epoch>} a job holds while it trains the run. Each epoch
 * is one file created only if absent (the zoo's claim primitive, atomic on every FileSystem) holding the holder, since
 * when and until when; the highest epoch is the lease. A job takes epoch 1 of a new run, or epoch n+1 of a run whose
 * lease n expired (a killed job's, or a released one); a live lease refuses the second job naming its holder. The
 * holder renews its expiry every third of {@value ZooConfig#LEASE_TTL_MS} while it lives and releases it on close.
 * Checkpoint writes carry the epoch ({@link CheckpointStore#write(String, long, java.util.Map, long)}) and are refused
 * once a higher epoch exists, so a job that lost its run can neither commit nor delete there.
 */
public final class RunLease implements Closeable {
    private static final Logger LOG = LogManager.getLogger(RunLease.class);
    static final String DIR = "lease";
    private static final Pattern EPOCH = Pattern.compile("[0-9]{12}");
    private static final int MAX_ATTEMPTS = 10;

    /**
     * Who holds (or last held) a run.
     *
     * @param epoch the lease's epoch, from 1
     * @param holder who took it (job, host, process)
     * @param since when it was taken
     * @param expiresAt until when it holds unless renewed
     */
    public record Holder(long epoch, String holder, Instant since, Instant expiresAt) {}

    private final Store store;
    private final String runId;
    private final Holder taken;
    private final ScheduledExecutorService renewer;
    private volatile String lost;
    private volatile boolean closed;

    private RunLease(Store store, String runId, Holder taken, boolean autoRenew) {
        this.store = store;
        this.runId = runId;
        this.taken = taken;
        if (autoRenew) {
            long every = Math.max(1, store.config.leaseTtl().toMillis() / 3);
            this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "run-lease-" + runId);
                t.setDaemon(true);
                return t;
            });
            renewer.scheduleWithFixedDelay(this::renewQuietly, every, every, TimeUnit.MILLISECONDS);
        } else {
            this.renewer = null;
        }
    }

    /** Takes the run's lease for {@code holder}, or fails naming the live holder; see the class comment. */
    static RunLease acquire(Store store, String runId, String holder, boolean autoRenew) throws IOException {
        Path dir = dir(store, runId);
        for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
            long highest = highestEpoch(store, runId);
            Instant now = store.clock.instant();
            if (highest > 0) {
                Optional<Holder> current = read(store, runId, highest);
                if (current.isPresent() && current.get().expiresAt().isAfter(now)) {
                    throw held(runId, current.get(), store);
                }
            }
            Holder mine = new Holder(highest + 1, holder, now, now.plus(store.config.leaseTtl()));
            if (store.createExclusive(new Path(dir, name(mine.epoch())), json(mine))) {
                if (highest > 0) {
                    LOG.warn("Run {}: lease epoch {} had expired; {} took the run over as epoch {}", runId, highest,
                            holder, mine.epoch());
                }
                return new RunLease(store, runId, mine, autoRenew);
            }
        }
        throw new ZooException("Could not take the lease of run " + runId + " at " + Store.uri(dir) + " after "
                + MAX_ATTEMPTS + " attempts: other jobs keep taking it");
    }

    public String runId() {
        return runId;
    }

    /** The epoch this job holds; checkpoint writes carry it. */
    public long epoch() {
        return taken.epoch();
    }

    public Holder holder() {
        return taken;
    }

    /**
     * Extends the expiry by the lease's time to live, after checking that no later epoch took the run over; fails
     * with {@link RunLeaseException} once it has.
     */
    public synchronized void renew() throws IOException {
        if (lost != null) {
            throw new RunLeaseException(lost);
        }
        checkFence(store, runId, epoch(), "renew its lease");
        Instant now = store.clock.instant();
        store.replace(new Path(dir(store, runId), name(epoch())),
                json(new Holder(epoch(), taken.holder(), taken.since(), now.plus(store.config.leaseTtl()))));
    }

    private void renewQuietly() {
        try {
            renew();
        } catch (RunLeaseException e) {
            lost = e.getMessage();
            LOG.error("Run {}: lost its lease: {}", runId, e.getMessage());
            renewer.shutdown();
        } catch (IOException | RuntimeException e) {
            LOG.warn("Run {}: could not renew lease epoch {} (will retry): {}", runId, epoch(), e.toString());
        }
    }

    /** Stops renewing and, unless the run was taken over, releases the lease so the next job may take it at once. */
    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (renewer != null) {
            renewer.shutdownNow();
        }
        if (lost == null && highestEpoch(store, runId) == epoch()) {
            Instant now = store.clock.instant();
            store.replace(new Path(dir(store, runId), name(epoch())),
                    json(new Holder(epoch(), taken.holder(), taken.since(), now)));
        }
    }

    /** The run's current lease, if it ever had one; a lease file that cannot be read is reported as expired. */
    static Optional<Holder> current(Store store, String runId) throws IOException {
        long highest = highestEpoch(store, runId);
        return highest == 0 ? Optional.empty() : read(store, runId, highest);
    }

    /**
     * Refuses {@code action} by a writer of {@code epoch} when a later epoch holds the run: such a writer lost the
     * run and must neither commit nor delete there.
     */
    static void checkFence(Store store, String runId, long epoch, String action) throws IOException {
        long highest = highestEpoch(store, runId);
        if (highest != epoch) {
            String by = read(store, runId, highest)
                    .map(h -> h.holder() + " (epoch " + h.epoch() + ", since " + h.since() + ")")
                    .orElse("epoch " + highest);
            throw new RunLeaseException("Run " + runId + ": a writer with lease epoch " + epoch + " may not " + action
                    + ": the run is held by " + by + ". This job lost the run; nothing was changed");
        }
    }

    private static RunLeaseException held(String runId, Holder h, Store store) {
        return new RunLeaseException("Run " + runId + " is held by " + h.holder() + " since " + h.since()
                + " (lease epoch " + h.epoch() + ", renewed until " + h.expiresAt() + ", in " + store.root.toUri()
                + "): two jobs must not train one run. Wait for it to finish, stop it, or use another run id; a"
                + " lease its job no longer renews expires after " + store.config.leaseTtl().toSeconds() + " s");
    }

    private static long highestEpoch(Store store, String runId) throws IOException {
        long highest = 0;
        for (FileStatus s : store.list(dir(store, runId))) {
            if (EPOCH.matcher(s.getPath().getName()).matches()) {
                highest = Math.max(highest, Long.parseLong(s.getPath().getName()));
            }
        }
        return highest;
    }

    private static Optional<Holder> read(Store store, String runId, long epoch) throws IOException {
        Path p = new Path(dir(store, runId), name(epoch));
        byte[] bytes;
        try {
            bytes = store.readAll(p);
        } catch (FileNotFoundException e) {
            return Optional.empty();
        }
        try {
            JsonObject o = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8)).getAsJsonObject();
            return Optional.of(new Holder(o.get("epoch").getAsLong(), o.get("holder").getAsString(),
                    Instant.parse(o.get("since").getAsString()), Instant.parse(o.get("expiresAt").getAsString())));
        } catch (RuntimeException e) {
            LOG.warn("Run {}: lease file {} cannot be read ({}); treating it as expired", runId, Store.uri(p),
                    CorruptFileException.describe(e));
            return Optional.empty();
        }
    }

    private static byte[] json(Holder h) {
        JsonObject o = new JsonObject();
        o.addProperty("epoch", h.epoch());
        o.addProperty("holder", h.holder());
        o.addProperty("since", h.since().toString());
        o.addProperty("expiresAt", h.expiresAt().toString());
        return o.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static Path dir(Store store, String runId) {
        return new Path(new Path(store.runsDir(), Names.runId(runId)), DIR);
    }

    private static String name(long epoch) {
        return String.format("%012d", epoch);
    }
}
