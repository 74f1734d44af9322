package io.hicmae.zoo;

import com.google.gson.JsonObject;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.UUID;
import java.util.regex.Pattern;
import java.nio.file.Files;
import java.security.DigestInputStream;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

/**
 * A run's checkpoints under {@code <root>/_runs/<runId>/checkpoints/step-<N>/}, each committed atomically like a
 * version and covered by its own SHA256SUMS. A write keeps the newest {@value ZooConfig#CHECKPOINTS_KEEP} of the run.
 * One writer per run, enforced by the run's {@link RunLease} (writes carry its epoch); any number of readers, who read
 * only verified bytes ({@link #fetchNewestIntact}).
 */
public final class CheckpointStore {
    private static final Logger LOG = LogManager.getLogger(CheckpointStore.class);
    private static final Pattern STEP_DIR = Pattern.compile("step-([0-9]{12})");

    private final Store store;

    CheckpointStore(Store store) {
        this.store = store;
    }

    private Path checkpointsDir(String runId) {
        return new Path(new Path(store.runsDir(), Names.runId(runId)), "checkpoints");
    }

    /**
     * Commits the files as the checkpoint of {@code step}, then drops the run's checkpoints beyond the newest K.
     * Unfenced: for a run without a lease (tests, tools); training jobs use {@link #write(String, long, Map, long)}.
     */
    public Checkpoint write(String runId, long step, Map<String, ContentWriter> files) throws IOException {
        return write(runId, step, files, () -> {}, null);
    }

    /**
     * Commits the files as the checkpoint of {@code step} for the holder of lease {@code epoch} ({@link RunLease}),
     * then drops the run's checkpoints beyond the newest K. Once a later epoch holds the run this writer has lost it:
     * the write fails with {@link RunLeaseException} before anything is deleted or committed (checked when it starts,
     * just before the commit and before dropping old checkpoints). The commit marker records the epoch.
     */
    public Checkpoint write(String runId, long step, Map<String, ContentWriter> files, long epoch) throws IOException {
        return write(runId, step, files,
                () -> RunLease.checkFence(store, runId, epoch, "write checkpoint step " + step), epoch);
    }

    private Checkpoint write(String runId, long step, Map<String, ContentWriter> files, DirectoryWriter.Guard guard,
            Long epoch) throws IOException {
        String entry = Names.step(step);
        Path dir = checkpointsDir(runId);
        DirectoryWriter writer = new DirectoryWriter(store, dir, entry, UUID.randomUUID().toString(), guard);
        try {
            for (Map.Entry<String, ContentWriter> f : new java.util.TreeMap<>(files).entrySet()) {
                writer.write(Names.file(f.getKey()), f.getValue());
            }
            JsonObject marker = new JsonObject();
            marker.addProperty("runId", runId);
            marker.addProperty("step", step);
            if (epoch != null) {
                marker.addProperty("epoch", epoch);
            }
            writer.commit(marker);
        } catch (IOException | RuntimeException e) {
            writer.abandon();
            throw e;
        }
        guard.check();
        retain(runId, store.config.checkpointsKeep());
        return read(runId, step, writer.target())
                .orElseThrow(() -> new ZooException("Checkpoint " + Store.uri(writer.target()) + " vanished"));
    }

    /**
     * The run's committed checkpoints, oldest first. One whose marker or SHA256SUMS cannot be read is left out with a
     * warning naming it (see {@link #fetchNewestIntact}); its files are not checked here.
     */
    public List<Checkpoint> list(String runId) throws IOException {
        return scan(runId, new ArrayList<>());
    }

    private List<Checkpoint> scan(String runId, List<String> unreadable) throws IOException {
        List<Checkpoint> out = new ArrayList<>();
        for (FileStatus s : store.list(checkpointsDir(runId))) {
            var m = STEP_DIR.matcher(s.getPath().getName());
            if (s.isDirectory() && m.matches()) {
                try {
                    read(runId, Long.parseLong(m.group(1)), s.getPath()).ifPresent(out::add);
                } catch (ZooException e) {
                    LOG.warn("Skipping checkpoint {} of run {}: {}", Store.uri(s.getPath()), runId, e.getMessage());
                    unreadable.add(Store.uri(s.getPath()) + ": " + e.getMessage());
                }
            }
        }
        out.sort(Comparator.comparingLong(Checkpoint::step));
        return out;
    }

    /**
     * Checks every file of the checkpoint against its SHA256SUMS, and SHA256SUMS against the commit marker; a missing,
     * truncated or altered file fails with its name ({@link ChecksumMismatchException}).
     */
    public void verify(Checkpoint checkpoint) throws IOException {
        for (Map.Entry<String, String> e : verifiedSums(checkpoint).entrySet()) {
            try (InputStream in = openListed(checkpoint, e.getKey())) {
                check(checkpoint, e.getKey(), e.getValue(), Sha256.hex(in));
            }
        }
    }

    /**
     * Copies every file of the checkpoint into the local directory {@code dir} (created; must not exist), checking
     * each against its SHA-256 as it streams: what the caller then reads is exactly what was committed. A mismatch
     * fails naming the file and deletes {@code dir}.
     */
    public void fetch(Checkpoint checkpoint, java.nio.file.Path dir) throws IOException {
        Files.createDirectory(dir);
        try {
            for (Map.Entry<String, String> e : verifiedSums(checkpoint).entrySet()) {
                var digest = Sha256.newDigest();
                try (InputStream in = new DigestInputStream(openListed(checkpoint, e.getKey()), digest)) {
                    Files.copy(in, dir.resolve(e.getKey()));
                }
                check(checkpoint, e.getKey(), e.getValue(), Sha256.hex(digest));
            }
        } catch (IOException | RuntimeException e) {
            Store.deleteLocal(dir);
            throw e;
        }
    }

    /**
     * Fetches the run's newest intact checkpoint into {@code dir} ({@link #fetch}): a newest one that is corrupt or
     * truncated is skipped with a warning naming it, and the one before it tried, down to the oldest. Empty when the
     * run has no checkpoint; a run whose checkpoints are all corrupt fails naming each and why.
     */
    public Optional<Checkpoint> fetchNewestIntact(String runId, java.nio.file.Path dir) throws IOException {
        List<String> bad = new ArrayList<>();
        List<Checkpoint> all = scan(runId, bad);
        for (int i = all.size() - 1; i >= 0; i--) {
            Checkpoint cp = all.get(i);
            try {
                fetch(cp, dir);
                if (!bad.isEmpty()) {
                    LOG.warn("Run {} resumes from {}, past {} corrupt checkpoint(s) named above", runId,
                            cp.location(), bad.size());
                }
                return Optional.of(cp);
            } catch (ChecksumMismatchException | CorruptFileException e) {
                LOG.warn("Skipping corrupt checkpoint {} of run {}: {}", cp.location(), runId, e.getMessage());
                bad.add(0, cp.location() + ": " + e.getMessage());
            }
        }
        if (!bad.isEmpty()) {
            throw new ZooException("Run " + runId + " has no intact checkpoint in " + store.root.toUri() + ": "
                    + String.join("; ", bad) + ". Start a new run, or restore a checkpoint from a backup");
        }
        return Optional.empty();
    }

    /** The run's newest committed checkpoint: what a resumed run starts from. */
    public Optional<Checkpoint> latest(String runId) throws IOException {
        List<Checkpoint> all = list(runId);
        return all.isEmpty() ? Optional.empty() : Optional.of(all.get(all.size() - 1));
    }

    /**
     * Takes the run's lease for {@code holder} (one writer per run, see {@link RunLease}) and renews it until closed;
     * fails with {@link RunLeaseException} naming the holder and since when if another live job holds it.
     */
    public RunLease acquireLease(String runId, String holder) throws IOException {
        return RunLease.acquire(store, runId, holder, true);
    }

    /** As {@link #acquireLease(String, String)}; without renewal the lease expires after its time to live (tests). */
    RunLease acquireLease(String runId, String holder, boolean autoRenew) throws IOException {
        return RunLease.acquire(store, runId, holder, autoRenew);
    }

    /** Who holds (or last held) the run's lease, if it ever had one. */
    public Optional<RunLease.Holder> currentLease(String runId) throws IOException {
        return RunLease.current(store, runId);
    }

    /** Opens one file of a checkpoint for reading. */
    public InputStream open(Checkpoint checkpoint, String file) throws IOException {
        if (!checkpoint.files().contains(file)) {
            throw new ZooException("Checkpoint " + checkpoint.location() + " has no file " + Names.quote(file)
                    + " (files: " + String.join(", ", checkpoint.files()) + ")");
        }
        return store.fs.open(new Path(new Path(checkpoint.location()), file));
    }

    /** Deletes all but the run's newest {@code keep} checkpoints; returns the deleted ones. */
    public List<Checkpoint> retain(String runId, int keep) throws IOException {
        if (keep < 1) {
            throw ZooConfig.invalid(ZooConfig.CHECKPOINTS_KEEP, keep, "must be at least 1");
        }
        List<Checkpoint> all = list(runId);
        List<Checkpoint> dropped = new ArrayList<>(all.subList(0, Math.max(0, all.size() - keep)));
        for (Checkpoint c : dropped) {
            Path dir = new Path(c.location());
            store.fs.delete(new Path(dir, Store.MARKER), false);
            store.fs.delete(dir, true);
        }
        return dropped;
    }

    /** The checkpoint's SHA256SUMS, after checking it against the digest its commit marker records. */
    private SortedMap<String, String> verifiedSums(Checkpoint cp) throws IOException {
        Path dir = new Path(cp.location());
        Store.Marker marker = store.marker(dir).orElseThrow(() -> new ChecksumMismatchException(Store.MARKER,
                "Checkpoint " + cp.location() + " is no longer committed (" + Store.MARKER + " is gone)"));
        Path sumsPath = new Path(dir, Store.SUMS);
        byte[] sumsFile;
        try {
            sumsFile = store.readAll(sumsPath);
        } catch (FileNotFoundException e) {
            throw new ChecksumMismatchException(Store.SUMS, "Checkpoint " + cp.location() + " has no " + Store.SUMS);
        }
        String actual = Sha256.hex(sumsFile);
        if (!actual.equals(marker.sumsDigest())) {
            throw new ChecksumMismatchException(Store.SUMS, "Checksum mismatch for " + Store.uri(sumsPath)
                    + ": the commit marker records " + marker.sumsDigest() + ", file has " + actual);
        }
        return Sha256.parse(sumsFile, Store.uri(sumsPath));
    }

    private InputStream openListed(Checkpoint cp, String file) throws IOException {
        try {
            return store.fs.open(new Path(new Path(cp.location()), file));
        } catch (FileNotFoundException e) {
            throw new ChecksumMismatchException(file, "File " + file + " of checkpoint " + cp.location()
                    + " is listed in " + Store.SUMS + " but missing");
        }
    }

    private static void check(Checkpoint cp, String file, String expected, String actual)
            throws ChecksumMismatchException {
        if (!expected.equals(actual)) {
            throw new ChecksumMismatchException(file, "Checksum mismatch for " + file + " of checkpoint "
                    + cp.location() + ": " + Store.SUMS + " says " + expected + ", file has " + actual
                    + " (truncated or altered)");
        }
    }

    private Optional<Checkpoint> read(String runId, long step, Path dir) throws IOException {
        Optional<Store.Marker> marker = store.marker(dir);
        if (marker.isEmpty()) {
            return Optional.empty();
        }
        var sums = Sha256.parse(store.readAll(new Path(dir, Store.SUMS)), Store.uri(new Path(dir, Store.SUMS)));
        return Optional.of(new Checkpoint(
                runId, step, dir.toUri(), marker.get().committedAt(), new ArrayList<>(sums.keySet())));
    }
}
