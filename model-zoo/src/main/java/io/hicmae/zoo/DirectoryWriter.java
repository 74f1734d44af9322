package io.hicmae.zoo;

import com.google.gson.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.fs.Path;

/**
 * Writes one directory (a version or a checkpoint) that becomes visible all at once: files, then SHA256SUMS over
 * them, then the {@code _COMMITTED} marker. In {@link CommitMode#RENAME} everything goes to
 * {@code parent/.staging/<token>/} and one rename publishes it; in {@link CommitMode#MARKER} files go in place and the
 * marker, created only if absent, publishes them.
 */
final class DirectoryWriter {
    private final Store store;
    private final Path target;
    private final Path work;
    private final String token;
    private final Map<String, String> sums = new TreeMap<>();
    private boolean committed;
    private final Guard guard;

    /** A check run before anything is deleted or made visible, e.g. that the writer still holds its run's lease. */
    @FunctionalInterface
    interface Guard {
        void check() throws IOException;
    }

    DirectoryWriter(Store store, Path parent, String entry, String token) throws IOException {
        this(store, parent, entry, token, () -> {});
    }

    DirectoryWriter(Store store, Path parent, String entry, String token, Guard guard) throws IOException {
        this.store = store;
        this.guard = guard;
        guard.check();
        this.target = new Path(parent, entry);
        this.token = token;
        if (store.config.commitMode() == CommitMode.RENAME) {
            this.work = new Path(new Path(parent, Store.STAGING), token);
        } else {
            this.work = target;
            // Only a dead writer's uncommitted leftover can be here: the caller holds the claim or the run.
            if (store.fs.exists(target) && !store.hasMarker(target)) {
                store.fs.delete(target, true);
            }
        }
        if (store.fs.exists(new Path(target, Store.MARKER))) {
            throw new ZooException(Store.uri(target) + " is already committed");
        }
        store.fs.mkdirs(work);
    }

    Path target() {
        return target;
    }

    void write(String name, ContentWriter writer) throws IOException {
        if (sums.containsKey(name)) {
            throw new IllegalArgumentException("Invalid value " + Names.quote(name) + " for file name: given twice");
        }
        sums.put(name, store.write(new Path(work, name), writer));
        store.hook.at(FaultHook.Step.FILE_WRITTEN, name);
    }

    /** Writes SHA256SUMS and the marker, then makes the directory visible; returns the digest of SHA256SUMS. */
    String commit(JsonObject markerFields) throws IOException {
        store.hook.at(FaultHook.Step.BEFORE_CHECKSUMS, Store.SUMS);
        byte[] sumsFile = Sha256.format(sums);
        store.write(new Path(work, Store.SUMS), ContentWriter.of(sumsFile));
        store.hook.at(FaultHook.Step.AFTER_CHECKSUMS, Store.SUMS);
        String digest = Sha256.hex(sumsFile);
        JsonObject marker = markerFields.deepCopy();
        marker.addProperty("sums", digest);
        marker.addProperty("committedAt", store.clock.instant().toString());
        marker.addProperty("writer", token);
        byte[] markerBytes = marker.toString().getBytes(StandardCharsets.UTF_8);
        if (store.config.commitMode() == CommitMode.RENAME) {
            store.write(new Path(work, Store.MARKER), ContentWriter.of(markerBytes));
            store.hook.at(FaultHook.Step.BEFORE_COMMIT, Store.uri(target));
            guard.check();
            store.renameNoReplace(work, target);
        } else {
            store.hook.at(FaultHook.Step.BEFORE_COMMIT, Store.uri(target));
            guard.check();
            if (!store.createExclusive(new Path(target, Store.MARKER), markerBytes)) {
                throw new ZooException(Store.uri(target) + " was committed by another writer");
            }
        }
        committed = true;
        store.hook.at(FaultHook.Step.AFTER_COMMIT, Store.uri(target));
        return digest;
    }

    /**
     * Best-effort removal of an uncommitted attempt after an ordinary failure; gc removes what this misses. In marker
     * mode the work directory is the target, so when another writer committed it first nothing is deleted: that is
     * the winner's committed directory.
     */
    void abandon() {
        if (committed) {
            return;
        }
        try {
            if (work.equals(target) && store.hasMarker(target)) {
                return;
            }
            store.fs.delete(work, true);
        } catch (IOException | RuntimeException e) {
            // gc collects it after the grace period; the caller is already reporting the first error.
        }
    }
}
