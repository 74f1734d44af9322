package io.hicmae.zoo;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

/**
 * The zoo's training runs ({@code <root>/_runs/<runId>/}) as a reader sees them: each run's status file and its
 * newest committed checkpoint. Reads only small files (the status file, checkpoint markers) and never waits for a
 * writer: the status file is replaced whole, and a checkpoint being written is invisible until committed.
 */
public final class RunArea {
    /** The run's status file, beside its {@code checkpoints/}. */
    public static final String STATUS_FILE = "status.json";

    /**
     * One run as listed.
     *
     * @param runId the run
     * @param status its status file, if it has a readable one
     * @param problem why the status file could not be read, or null
     * @param latest its newest committed checkpoint, if any
     * @param lease the run's lease ({@link RunLease}), if one was ever taken
     */
    public record Run(String runId, Optional<RunStatus> status, String problem, Optional<Checkpoint> latest,
            Optional<RunLease.Holder> lease) {

        /**
         * The state as of {@code now}: the status file's, except that a {@code running} run whose lease (or, without
         * one, whose heartbeat) has expired is {@value RunStatus#ABANDONED}; {@code unknown} without a status file.
         */
        public String state(java.time.Instant now) {
            if (status.isEmpty()) {
                return "unknown";
            }
            RunStatus s = status.get();
            if (s.state().equals(RunStatus.RUNNING) && lease.isPresent()) {
                return lease.get().expiresAt().isBefore(now) ? RunStatus.ABANDONED : RunStatus.RUNNING;
            }
            return s.stateAt(now);
        }
    }

    private final Store store;
    private final CheckpointStore checkpoints;

    RunArea(Store store, CheckpointStore checkpoints) {
        this.store = store;
        this.checkpoints = checkpoints;
    }

    /** Replaces the run's status file (readers see the old or the new one, on every FileSystem). */
    public void writeStatus(RunStatus status) throws IOException {
        Path dir = new Path(store.runsDir(), Names.runId(status.runId()));
        store.fs.mkdirs(dir);
        store.replace(new Path(dir, STATUS_FILE), status.toBytes());
    }

    /**
     * Replaces a small file of the run's own (beside its status file), e.g. the driver's requests to the ranks;
     * readers see the old or the new content.
     */
    public void replaceFile(String runId, String name, byte[] content) throws IOException {
        Path dir = new Path(store.runsDir(), Names.runId(runId));
        store.fs.mkdirs(dir);
        store.replace(new Path(dir, Names.file(name)), content);
    }

    /** A small file of the run's written by {@link #replaceFile}, or empty when there is none. */
    public Optional<byte[]> readFile(String runId, String name) throws IOException {
        return store.readIfExists(new Path(new Path(store.runsDir(), Names.runId(runId)), Names.file(name)));
    }

    /** Every run in the area, by run id. */
    public List<Run> list() throws IOException {
        List<Run> out = new ArrayList<>();
        for (FileStatus s : store.list(store.runsDir())) {
            String name = s.getPath().getName();
            if (s.isDirectory() && !name.startsWith(".") && !name.startsWith("_")) {
                out.add(read(name));
            }
        }
        out.sort((a, b) -> a.runId().compareTo(b.runId()));
        return out;
    }

    /** One run; fails naming the run when the area has no such run. */
    public Run show(String runId) throws IOException {
        if (!store.fs.exists(new Path(store.runsDir(), Names.runId(runId)))) {
            throw new ZooException("No run " + Names.quote(runId) + " in " + Store.uri(store.runsDir()));
        }
        return read(runId);
    }

    private Run read(String runId) throws IOException {
        Optional<RunStatus> status = Optional.empty();
        String problem = null;
        Optional<byte[]> bytes = store.readIfExists(new Path(new Path(store.runsDir(), runId), STATUS_FILE));
        if (bytes.isEmpty()) {
            problem = "no " + STATUS_FILE;
        } else {
            try {
                status = Optional.of(RunStatus.parse(bytes.get()));
            } catch (RuntimeException e) {
                problem = STATUS_FILE + " unreadable: " + e.getMessage();
            }
        }
        Optional<Checkpoint> latest;
        try {
            latest = checkpoints.latest(runId);
        } catch (IllegalArgumentException e) {
            latest = Optional.empty();
        }
        Optional<RunLease.Holder> lease;
        try {
            lease = checkpoints.currentLease(runId);
        } catch (IOException | RuntimeException e) {
            lease = Optional.empty();
        }
        return new Run(runId, status, problem, latest, lease);
    }
}
