package io.hicmae.zoo;

import com.google.gson.JsonObject;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.security.DigestInputStream;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * A versioned model store on any Hadoop FileSystem; the layout is in {@code model-zoo/README.md}.
 *
 * <p>A model holds numbered versions {@code v000001, v000002, ...}. Publishing claims the next number with an
 * exclusive create, writes the files, SHA256SUMS and a commit marker, and makes the version visible in one step
 * ({@link CommitMode}), so concurrent publishers get distinct versions and a killed one leaves nothing visible. Alias
 * moves are records created exclusively, which makes them compare-and-set ({@link #promoteIf}); {@code latest} is
 * computed, never stored. A version or alias whose files cannot be read is listed as corrupt ({@link #listCorrupt})
 * and skipped by every other reader. Safe to share between any number of readers and publishers; run {@link #gc} from
 * one job at a time.
 */
public final class ModelZoo implements Closeable {
    private static final Logger LOG = LogManager.getLogger(ModelZoo.class);
    private static final int MAX_CLAIM_ATTEMPTS = 1000;

    private final Store store;
    private final CheckpointStore checkpoints;
    private final RunArea runs;
    private final Aliases aliases;

    private ModelZoo(Store store) {
        this.store = store;
        this.checkpoints = new CheckpointStore(store);
        this.runs = new RunArea(store, checkpoints);
        this.aliases = new Aliases(store);
    }

    /** Opens the zoo at a URI ({@code file:}, {@code hdfs:}, {@code s3a:}, ...) or a plain local path. */
    public static ModelZoo open(String uriOrPath) throws IOException {
        return builder(uriOrPath).open();
    }

    /** Opens the zoo at {@code root} with the given Hadoop configuration (credentials, {@link ZooConfig} keys). */
    public static ModelZoo open(URI root, Configuration conf) throws IOException {
        return new Builder(root).setConf(conf).open();
    }

    public static Builder builder(String uriOrPath) {
        return new Builder(rootUri(uriOrPath));
    }

    /**
     * The root URI for {@code uriOrPath}: a string with a scheme of two or more letters is a URI, anything else a local
     * path made absolute.
     */
    public static URI rootUri(String uriOrPath) {
        if (uriOrPath == null || uriOrPath.isBlank()) {
            throw Names.invalid(uriOrPath, "zoo root", "give a URI (file:, hdfs:, s3a:) or a local path");
        }
        try {
            if (uriOrPath.matches("[A-Za-z][A-Za-z0-9+.-]+:.*")) {
                URI uri = new URI(uriOrPath).normalize();
                if (uri.getPath() == null || uri.getPath().isEmpty()) {
                    return uri.resolve("/");
                }
                return uri;
            }
            return Paths.get(uriOrPath).toAbsolutePath().normalize().toUri();
        } catch (java.net.URISyntaxException | java.nio.file.InvalidPathException e) {
            throw Names.invalid(uriOrPath, "zoo root", e.getMessage());
        }
    }

    public URI root() {
        return store.root.toUri();
    }

    public ZooConfig config() {
        return store.config;
    }

    /** The run checkpoint area of this zoo. */
    public CheckpointStore checkpoints() {
        return checkpoints;
    }

    /** The zoo's training runs: status files and newest checkpoints ({@code hicmae runs}). */
    public RunArea runs() {
        return runs;
    }

    /** Models with at least one committed or corrupt version or alias, sorted by name. */
    public List<ModelSummary> listModels() throws IOException {
        List<ModelSummary> out = new ArrayList<>();
        for (String model : modelNames()) {
            Scan scan = scan(model);
            if (!scan.versions().isEmpty() || !scan.corrupt().isEmpty()) {
                out.add(new ModelSummary(model, scan.versions().size(), scan.versions().isEmpty() ? null
                        : scan.versions().get(scan.versions().size() - 1).version(), scan.aliases(), scan.corrupt()));
            }
        }
        return out;
    }

    /** The committed, readable versions of {@code model}, oldest first; empty if it has none. */
    public List<VersionInfo> listVersions(String model) throws IOException {
        return scan(model).versions();
    }

    /**
     * The versions and aliases of {@code model} whose commit marker, metadata or alias record cannot be read, with the
     * reason; every other reader skips them. {@link #gc} with delete removes them.
     */
    public List<CorruptEntry> listCorrupt(String model) throws IOException {
        return scan(model).corrupt();
    }

    /** The readable aliases of {@code model}: alias to version id, sorted by alias ({@code latest} is not stored). */
    public Map<String, String> aliases(String model) throws IOException {
        return scan(model).aliases();
    }

    /**
     * What a model holds: readable versions (with their aliases, {@code latest} on the newest), readable aliases and
     * corrupt entries. A version counts only when its marker and {@code metadata.json} parse.
     */
    private record Scan(List<VersionInfo> versions, Map<String, String> aliases, Map<String, Aliases.Head> heads,
            List<CorruptEntry> corrupt) {}

    private Scan scan(String model) throws IOException {
        Path modelDir = modelDir(model);
        Map<String, Aliases.Head> heads = aliases.heads(modelDir);
        Map<String, String> intact = new TreeMap<>();
        List<CorruptEntry> corrupt = new ArrayList<>();
        heads.forEach((alias, h) -> {
            if (h.corrupt() == null) {
                intact.put(alias, h.version());
            } else {
                corrupt.add(new CorruptEntry(model, CorruptEntry.Kind.ALIAS, alias, h.location().toUri(), h.corrupt()));
            }
        });
        List<VersionInfo> out = new ArrayList<>();
        for (FileStatus s : store.list(modelDir)) {
            var m = Names.VERSION_DIR.matcher(s.getPath().getName());
            if (!s.isDirectory() || !m.matches()) {
                continue;
            }
            String id = s.getPath().getName();
            Optional<Store.Marker> marker;
            try {
                marker = store.marker(s.getPath());
                if (marker.isPresent() && !readableMetadata(s.getPath())) {
                    continue; // deleted by gc while we looked
                }
            } catch (CorruptFileException e) {
                LOG.warn("Skipping corrupt version {}:{}: {}", model, id, e.getMessage());
                corrupt.add(new CorruptEntry(model, CorruptEntry.Kind.VERSION, id, URI.create(e.location()),
                        e.reason()));
                continue;
            }
            if (marker.isPresent()) {
                List<String> names = new ArrayList<>();
                intact.forEach((alias, target) -> {
                    if (target.equals(id)) {
                        names.add(alias);
                    }
                });
                out.add(new VersionInfo(model, id, Integer.parseInt(m.group(1)), s.getPath().toUri(),
                        marker.get().committedAt(), marker.get().sumsDigest(), names));
            }
        }
        out.sort(Comparator.comparingInt(VersionInfo::number));
        if (!out.isEmpty()) {
            VersionInfo newest = out.remove(out.size() - 1);
            List<String> names = new ArrayList<>(newest.aliases());
            names.add(ModelRef.LATEST);
            names.sort(null);
            out.add(new VersionInfo(newest.model(), newest.version(), newest.number(), newest.location(),
                    newest.committedAt(), newest.digest(), names));
        }
        corrupt.sort(Comparator.comparing(CorruptEntry::kind).thenComparing(CorruptEntry::name));
        return new Scan(out, intact, heads, corrupt);
    }

    /**
     * Whether the committed directory's {@code metadata.json} parses: true; false when it and the marker are gone (gc
     * removed the version meanwhile); throws {@link CorruptFileException} otherwise.
     */
    private boolean readableMetadata(Path dir) throws IOException {
        Path md = new Path(dir, VersionMetadata.FILE);
        Optional<byte[]> bytes = store.readIfExists(md);
        if (bytes.isEmpty()) {
            if (!store.hasMarker(dir)) {
                return false;
            }
            throw new CorruptFileException("version metadata", Store.uri(md), "missing from a committed version");
        }
        try {
            VersionMetadata.fromJson(new String(bytes.get(), StandardCharsets.UTF_8), Store.uri(md));
            return true;
        } catch (ZooException e) {
            throw new CorruptFileException("version metadata", Store.uri(md), e.getMessage());
        }
    }

    public VersionInfo resolve(String ref) throws IOException {
        return resolve(ModelRef.parse(ref));
    }

    /** The committed version {@code ref} names; throws naming the model, the zoo and what is there instead. */
    public VersionInfo resolve(ModelRef ref) throws IOException {
        Scan scan = scan(ref.model());
        List<VersionInfo> versions = scan.versions();
        if (versions.isEmpty()) {
            throw new ZooException("No published version of model " + ref.model() + " in " + root()
                    + corruptNote(scan.corrupt()));
        }
        if (ref.isLatest()) {
            return versions.get(versions.size() - 1);
        }
        String wanted;
        if (ref.version() != null) {
            wanted = Names.versionId(ref.version());
        } else {
            Aliases.Head head = scan.heads().get(ref.alias());
            if (head != null && head.corrupt() != null) {
                throw new ZooException("Alias " + ref.alias() + " of model " + ref.model() + " in " + root()
                        + " is corrupt: " + Store.uri(head.location()) + ": " + head.corrupt()
                        + " (move it with promote, or remove it with gc --delete)");
            }
            wanted = head == null ? null : head.version();
            if (wanted == null) {
                throw new ZooException("No alias " + ref.alias() + " for model " + ref.model() + " in " + root()
                        + " (aliases: " + String.join(", ", aliasNames(versions)) + ")");
            }
        }
        for (VersionInfo v : versions) {
            if (v.version().equals(wanted)) {
                return v;
            }
        }
        for (CorruptEntry c : scan.corrupt()) {
            if (c.kind() == CorruptEntry.Kind.VERSION && c.name().equals(wanted)) {
                throw new ZooException((ref.alias() != null ? "Alias " + ref.alias() + " points at " : "Version ")
                        + ref.model() + ":" + wanted + " in " + root() + ", which is corrupt: " + c.location() + ": "
                        + c.reason() + " (gc --delete removes it)");
            }
        }
        throw new ZooException((ref.alias() != null ? "Alias " + ref.alias() + " of model " + ref.model()
                        + " points at " + wanted + ", which is not a committed version"
                        : "No version " + wanted + " of model " + ref.model())
                + " in " + root() + " (newest is " + versions.get(versions.size() - 1).version() + ")");
    }

    /** The version's files with sizes, and its lineage. */
    public VersionDetails describe(ModelRef ref) throws IOException {
        VersionInfo v = resolve(ref);
        Path dir = new Path(v.location());
        SortedMap<String, String> sums = readSums(v);
        List<FileEntry> files = new ArrayList<>();
        for (Map.Entry<String, String> e : sums.entrySet()) {
            files.add(new FileEntry(e.getKey(), store.fs.getFileStatus(new Path(dir, e.getKey())).getLen(), e.getValue()));
        }
        Path md = new Path(dir, VersionMetadata.FILE);
        return new VersionDetails(v, files, VersionMetadata.fromJson(
                new String(store.readAll(md), StandardCharsets.UTF_8), Store.uri(md)));
    }

    /** Opens one file of a version for reading, e.g. {@code model.safetensors}. Unverified: see {@link #fetch}. */
    public InputStream open(VersionInfo version, String file) throws IOException {
        return store.fs.open(new Path(new Path(version.location()), Names.file(file)));
    }

    /**
     * Publishes a new version: claims the next number, writes every file and SHA256SUMS, then commits. Concurrent
     * publishers of one model get distinct numbers; numbers follow claim order, not commit order.
     */
    public VersionInfo publish(PublishRequest request) throws IOException {
        String model = request.model();
        Path modelDir = modelDir(model);
        String token = UUID.randomUUID().toString();
        int number = claimVersion(modelDir, token);
        String id = Names.versionId(number);
        store.hook.at(FaultHook.Step.CLAIMED, id);
        VersionMetadata metadata = request.metadata().withCreatedAt(store.clock.instant());
        DirectoryWriter writer = new DirectoryWriter(store, modelDir, id, token);
        try {
            writer.write(PublishRequest.WEIGHTS, request.weights());
            writer.write(PublishRequest.CONFIG, ContentWriter.of(request.configJson().getBytes(StandardCharsets.UTF_8)));
            writer.write(VersionMetadata.FILE, ContentWriter.of(metadata.toJson().getBytes(StandardCharsets.UTF_8)));
            writer.write(PublishRequest.METRICS, ContentWriter.of(request.metricsJsonl()));
            String card = ModelCard.readme(model, id, metadata, request.configJson(), request.metrics());
            writer.write(ModelCard.README, ContentWriter.of(card.getBytes(StandardCharsets.UTF_8)));
            if (!request.metrics().isEmpty()) {
                writer.write(ModelCard.LOSS_CURVE,
                        ContentWriter.of(ModelCard.lossCurvePng(model + " " + id, request.metrics())));
            }
            for (Map.Entry<String, ContentWriter> e : new TreeMap<>(request.extraFiles()).entrySet()) {
                writer.write(e.getKey(), e.getValue());
            }
            JsonObject marker = new JsonObject();
            marker.addProperty("model", model);
            marker.addProperty("version", id);
            writer.commit(marker);
        } catch (IOException | RuntimeException e) {
            writer.abandon();
            throw e;
        }
        LOG.info("Published {}:{} at {}", model, id, Store.uri(writer.target()));
        return resolve(ModelRef.ofVersion(model, number));
    }

    /**
     * Points {@code alias} at the version {@code ref} names, after whatever move is newest (each move is one record
     * created exclusively, so concurrent moves never interleave; the last to create its record wins).
     */
    public VersionInfo promote(ModelRef ref, String alias) throws IOException {
        return move(ref, alias, false, null);
    }

    /**
     * Compare-and-set: points {@code alias} at the version {@code ref} names only if it points at
     * {@code expectedVersion} now ({@code null}: only if the alias does not exist yet). Of two concurrent moves from
     * the same version exactly one succeeds; the other fails naming where the alias points, and changes nothing.
     */
    public VersionInfo promoteIf(ModelRef ref, String alias, String expectedVersion) throws IOException {
        return move(ref, alias, true, expectedVersion == null ? null : Names.versionId(Names.version(expectedVersion)));
    }

    private VersionInfo move(ModelRef ref, String alias, boolean checkExpected, String expected) throws IOException {
        if (ModelRef.LATEST.equals(Names.alias(alias))) {
            throw Names.invalid(alias, "alias", "latest always means the newest version and cannot be moved");
        }
        VersionInfo v = resolve(ref);
        aliases.move(modelDir(ref.model()), ref.model(), alias, v.version(), checkExpected, expected);
        LOG.info("Alias {}@{} now points at {}", ref.model(), alias, v.version());
        return resolve(ModelRef.ofAlias(ref.model(), alias));
    }

    /**
     * Checks every file of the version against its SHA256SUMS, and SHA256SUMS against the commit marker; a missing,
     * extra or altered file fails with its name.
     */
    public VersionInfo verify(ModelRef ref) throws IOException {
        VersionInfo v = resolve(ref);
        Path dir = new Path(v.location());
        SortedMap<String, String> sums = readSums(v);
        checkSameFiles(v, sums, store.listFilesRecursive(dir));
        for (Map.Entry<String, String> e : sums.entrySet()) {
            try (InputStream in = store.fs.open(new Path(dir, e.getKey()))) {
                checkDigest(v, e.getKey(), e.getValue(), Sha256.hex(in));
            }
        }
        return v;
    }

    /**
     * Downloads a version into the local cache, verifying every file, and returns its directory
     * {@code <cache>/<digest of SHA256SUMS>}. A version already cached is not downloaded again.
     */
    public java.nio.file.Path fetch(ModelRef ref) throws IOException {
        VersionInfo v = resolve(ref);
        java.nio.file.Path cacheDir = store.config.cacheDir();
        java.nio.file.Path entry = cacheDir.resolve(v.digest());
        if (Files.isDirectory(entry)) {
            byte[] cached = Files.readAllBytes(entry.resolve(Store.SUMS));
            if (!Sha256.hex(cached).equals(v.digest())) {
                throw new ZooException("Corrupt cache entry " + entry + " for " + v.ref() + ": delete it and pull again");
            }
            return entry;
        }
        Files.createDirectories(cacheDir);
        java.nio.file.Path tmp = cacheDir.resolve(Store.TMP_PREFIX + UUID.randomUUID());
        try {
            download(v, tmp);
            Files.move(tmp, entry, StandardCopyOption.ATOMIC_MOVE);
        } catch (FileSystemException e) {
            if (!Files.isDirectory(entry)) {
                throw e;
            }
            // Another process cached the same digest first; its copy is verified like ours.
        } finally {
            Store.deleteLocal(tmp);
        }
        return entry;
    }

    /**
     * Pulls a version into {@code dest} through the cache: files are copied into a temporary directory beside
     * {@code dest}, verified, then renamed into place, so a failure leaves {@code dest} untouched. Pulling the same
     * version to the same place again does nothing.
     */
    public java.nio.file.Path pull(ModelRef ref, java.nio.file.Path dest) throws IOException {
        VersionInfo v = resolve(ref);
        java.nio.file.Path source = fetch(ref);
        java.nio.file.Path target = dest.toAbsolutePath().normalize();
        byte[] sumsFile = Files.readAllBytes(source.resolve(Store.SUMS));
        if (Files.exists(target)) {
            java.nio.file.Path existing = target.resolve(Store.SUMS);
            if (Files.isRegularFile(existing) && Sha256.hex(Files.readAllBytes(existing)).equals(v.digest())) {
                return target;
            }
            throw new ZooException("Cannot pull " + v.ref() + " to " + target + ": it exists and holds something else");
        }
        Files.createDirectories(target.getParent());
        java.nio.file.Path tmp = target.resolveSibling("." + target.getFileName() + Store.TMP_PREFIX + UUID.randomUUID());
        try {
            Files.createDirectory(tmp);
            for (Map.Entry<String, String> e : Sha256.parse(sumsFile, source.resolve(Store.SUMS).toString()).entrySet()) {
                var digest = Sha256.newDigest();
                try (InputStream in = new DigestInputStream(Files.newInputStream(source.resolve(e.getKey())), digest)) {
                    Files.copy(in, tmp.resolve(e.getKey()));
                }
                checkDigest(v, e.getKey(), e.getValue(), Sha256.hex(digest));
            }
            Files.write(tmp.resolve(Store.SUMS), sumsFile);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Store.deleteLocal(tmp);
        }
        return target;
    }

    /**
     * Plans, and unless {@code dryRun} carries out, the deletion of every committed version beyond each model's
     * {@code keepNewest} newest that no alias points at and that stopped being the newest, and lost its last alias,
     * longer ago than {@value ZooConfig#VERSION_GRACE_MS} (so a pull that resolved it finishes); of corrupt versions
     * and aliases ({@link CorruptEntry}); of superseded alias records; and of dead publishers' leftovers older than
     * {@value ZooConfig#STAGING_GRACE_MS}. Both periods are measured with the zoo's clock.
     */
    public GcPlan gc(int keepNewest, boolean dryRun) throws IOException {
        if (keepNewest < 1) {
            throw Names.invalid(Integer.toString(keepNewest), "keep-newest", "must be at least 1");
        }
        Instant now = store.clock.instant();
        Instant cutoff = now.minus(store.config.stagingGrace());
        Instant versionCutoff = now.minus(store.config.versionGrace());
        List<GcPlan.Item> items = new ArrayList<>();
        for (String model : modelNames()) {
            planModel(model, keepNewest, cutoff, versionCutoff, items);
        }
        planStale(store.tmpDir(), cutoff, GcPlan.Reason.STALE_TEMP, "exclusive create", items);
        for (FileStatus run : store.list(store.runsDir())) {
            Path dir = new Path(run.getPath(), "checkpoints");
            String what = "run " + run.getPath().getName();
            planStale(new Path(dir, Store.STAGING), cutoff, GcPlan.Reason.STALE_STAGING, what, items);
            for (FileStatus s : store.list(dir)) {
                if (!s.isDirectory() || !s.getPath().getName().startsWith("step-")) {
                    continue;
                }
                if (!store.hasMarker(s.getPath())) {
                    if (isStale(s.getPath(), cutoff)) {
                        items.add(item(GcPlan.Reason.UNCOMMITTED, s.getPath(), what + " checkpoint"));
                    }
                    continue;
                }
                try {
                    store.marker(s.getPath());
                } catch (CorruptFileException e) {
                    items.add(item(GcPlan.Reason.CORRUPT, s.getPath(), what + " checkpoint: " + e.reason()));
                }
            }
        }
        if (!dryRun) {
            for (GcPlan.Item item : items) {
                Path p = new Path(item.location());
                if (item.reason() == GcPlan.Reason.OLD_VERSION) {
                    // Invisible first, so a reader never sees a committed version with files missing.
                    store.fs.delete(new Path(p, Store.MARKER), false);
                }
                if (item.reason() == GcPlan.Reason.OLD_VERSION || item.reason() == GcPlan.Reason.UNCOMMITTED) {
                    store.fs.delete(new Path(new Path(p.getParent(), Store.CLAIMS), p.getName()), false);
                }
                store.fs.delete(p, true);
                LOG.info("gc deleted {} ({})", item.location(), item.reason());
            }
        }
        return new GcPlan(items, !dryRun);
    }

    private void planModel(String model, int keepNewest, Instant cutoff, Instant versionCutoff,
            List<GcPlan.Item> items) throws IOException {
        Path modelDir = modelDir(model);
        Scan scan = scan(model);
        List<VersionInfo> versions = scan.versions();
        Set<String> aliased = new HashSet<>(scan.aliases().values());
        Map<String, Instant> lastWanted = lastWanted(modelDir, scan);
        for (int i = 0; i < versions.size() - keepNewest; i++) {
            VersionInfo v = versions.get(i);
            Instant wanted = lastWanted.get(v.version());
            if (aliased.contains(v.version())) {
                continue;
            }
            if (wanted != null && !wanted.isBefore(versionCutoff)) {
                LOG.info("gc keeps {}:{}: newest or aliased until {}, within the grace period of {}", model,
                        v.version(), wanted, store.config.versionGrace());
                continue;
            }
            items.add(item(GcPlan.Reason.OLD_VERSION, new Path(v.location()), model + ":" + v.version()));
        }
        Set<String> versionDirs = new HashSet<>();
        for (CorruptEntry c : scan.corrupt()) {
            Path bad = new Path(c.location());
            String detail = c.ref() + ": " + c.reason();
            if (c.kind() == CorruptEntry.Kind.VERSION) {
                versionDirs.add(c.name());
                items.add(item(GcPlan.Reason.CORRUPT, bad.getParent(), detail));
            } else {
                // The whole alias: dropping only its newest record would silently move it back to an older version.
                Path records = new Path(new Path(modelDir, Aliases.RECORDS), c.name());
                Path legacy = new Path(new Path(modelDir, Aliases.LEGACY), c.name());
                for (Path p : List.of(records, legacy)) {
                    if (store.fs.exists(p)) {
                        items.add(item(GcPlan.Reason.CORRUPT, p, detail));
                    }
                }
            }
        }
        for (FileStatus s : store.list(modelDir)) {
            String name = s.getPath().getName();
            if (s.isDirectory() && Names.VERSION_DIR.matcher(name).matches()) {
                versionDirs.add(name);
                if (!store.hasMarker(s.getPath()) && isStale(s.getPath(), cutoff)) {
                    items.add(item(GcPlan.Reason.UNCOMMITTED, s.getPath(), model + ":" + name));
                }
            }
        }
        planStale(new Path(modelDir, Store.STAGING), cutoff, GcPlan.Reason.STALE_STAGING, model, items);
        for (FileStatus s : store.list(new Path(modelDir, Store.CLAIMS))) {
            if (!versionDirs.contains(s.getPath().getName()) && isStale(s.getPath(), cutoff)) {
                items.add(item(GcPlan.Reason.STALE_CLAIM, s.getPath(), model + ":" + s.getPath().getName()));
            }
        }
        for (FileStatus s : store.list(new Path(modelDir, Aliases.LEGACY))) {
            if (s.getPath().getName().startsWith(Store.TMP_PREFIX) && isStale(s.getPath(), cutoff)) {
                items.add(item(GcPlan.Reason.STALE_TEMP, s.getPath(), model + " alias"));
            }
        }
        for (Map.Entry<String, Aliases.Head> e : scan.heads().entrySet()) {
            if (e.getValue().corrupt() != null) {
                continue;
            }
            for (Aliases.Move m : aliases.history(modelDir, e.getKey())) {
                if (m.seq() < e.getValue().seq() && m.movedAt().isBefore(cutoff)) {
                    items.add(item(GcPlan.Reason.OLD_ALIAS_MOVE, m.location(),
                            model + "@" + e.getKey() + " -> " + m.version() + " at " + m.movedAt()));
                }
            }
        }
    }

    /**
     * For each version, the last time a reader could have resolved it without a version number: when a newer version
     * was first committed (until then it was {@code latest}), or when an alias moved away from it.
     */
    private Map<String, Instant> lastWanted(Path modelDir, Scan scan) throws IOException {
        Map<String, Instant> out = new HashMap<>();
        List<VersionInfo> versions = scan.versions();
        Instant firstNewer = null;
        for (int i = versions.size() - 1; i >= 0; i--) {
            if (firstNewer != null) {
                out.put(versions.get(i).version(), firstNewer);
            }
            Instant c = versions.get(i).committedAt();
            firstNewer = firstNewer == null || c.isBefore(firstNewer) ? c : firstNewer;
        }
        for (String alias : scan.heads().keySet()) {
            List<Aliases.Move> moves = aliases.history(modelDir, alias);
            for (int k = 0; k + 1 < moves.size(); k++) {
                out.merge(moves.get(k).version(), moves.get(k + 1).movedAt(), (a, b) -> a.isAfter(b) ? a : b);
            }
        }
        return out;
    }

    private void planStale(Path dir, Instant cutoff, GcPlan.Reason reason, String what, List<GcPlan.Item> items)
            throws IOException {
        for (FileStatus s : store.list(dir)) {
            if (isStale(s.getPath(), cutoff)) {
                items.add(item(reason, s.getPath(), what));
            }
        }
    }

    private boolean isStale(Path p, Instant cutoff) throws IOException {
        return store.lastTouched(p).isBefore(cutoff);
    }

    private static GcPlan.Item item(GcPlan.Reason reason, Path p, String detail) {
        return new GcPlan.Item(reason, p.toUri(), detail);
    }

    /** Claims the lowest free number above every existing claim and version by an exclusive create. */
    private int claimVersion(Path modelDir, String token) throws IOException {
        int highest = 0;
        Path claims = new Path(modelDir, Store.CLAIMS);
        for (FileStatus s : Stream.concat(store.list(modelDir).stream(), store.list(claims).stream()).toList()) {
            var m = Names.VERSION_DIR.matcher(s.getPath().getName());
            if (m.matches()) {
                highest = Math.max(highest, Integer.parseInt(m.group(1)));
            }
        }
        byte[] content = (token + "\n").getBytes(StandardCharsets.UTF_8);
        for (int n = highest + 1, attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; n++, attempt++) {
            if (store.createExclusive(new Path(claims, Names.versionId(n)), content)) {
                return n;
            }
        }
        throw new ZooException("Could not claim a version number for " + Store.uri(modelDir) + " after "
                + MAX_CLAIM_ATTEMPTS + " attempts above v" + highest);
    }

    private SortedMap<String, String> readSums(VersionInfo v) throws IOException {
        Path sumsPath = new Path(new Path(v.location()), Store.SUMS);
        byte[] sumsFile = store.readAll(sumsPath);
        String actual = Sha256.hex(sumsFile);
        if (!actual.equals(v.digest())) {
            throw new ChecksumMismatchException(Store.SUMS, "Checksum mismatch for " + Store.SUMS + " of " + v.ref()
                    + " at " + Store.uri(sumsPath) + ": the commit marker records " + v.digest() + ", file has " + actual);
        }
        return Sha256.parse(sumsFile, Store.uri(sumsPath));
    }

    private void checkSameFiles(VersionInfo v, SortedMap<String, String> sums, List<String> present)
            throws ChecksumMismatchException {
        Set<String> files = new HashSet<>(present);
        files.remove(Store.SUMS);
        files.remove(Store.MARKER);
        for (String f : new TreeMap<>(sums).keySet()) {
            if (!files.remove(f)) {
                throw new ChecksumMismatchException(f, "File " + f + " of " + v.ref() + " is listed in " + Store.SUMS
                        + " but missing from " + v.location());
            }
        }
        if (!files.isEmpty()) {
            String f = files.stream().sorted().findFirst().orElseThrow();
            throw new ChecksumMismatchException(f, "File " + f + " in " + v.location() + " is not listed in "
                    + Store.SUMS + " of " + v.ref());
        }
    }

    private static void checkDigest(VersionInfo v, String file, String expected, String actual)
            throws ChecksumMismatchException {
        if (!expected.equals(actual)) {
            throw new ChecksumMismatchException(file, "Checksum mismatch for " + file + " of " + v.ref() + " at "
                    + v.location() + "/" + file + ": " + Store.SUMS + " says " + expected + ", file has " + actual);
        }
    }

    /** Copies every file of {@code v} into the new local directory {@code dir}, verifying each as it streams. */
    private void download(VersionInfo v, java.nio.file.Path dir) throws IOException {
        Path remote = new Path(v.location());
        SortedMap<String, String> sums = readSums(v);
        checkSameFiles(v, sums, store.listFilesRecursive(remote));
        Files.createDirectory(dir);
        for (Map.Entry<String, String> e : sums.entrySet()) {
            var digest = Sha256.newDigest();
            try (InputStream in = new DigestInputStream(store.fs.open(new Path(remote, e.getKey())), digest);
                    OutputStream out = Files.newOutputStream(dir.resolve(e.getKey()))) {
                in.transferTo(out);
            }
            checkDigest(v, e.getKey(), e.getValue(), Sha256.hex(digest));
        }
        Files.write(dir.resolve(Store.SUMS), Sha256.format(sums));
    }

    private static String corruptNote(List<CorruptEntry> corrupt) {
        if (corrupt.isEmpty()) {
            return "";
        }
        StringBuilder sb = new StringBuilder(" (corrupt: ");
        for (int i = 0; i < corrupt.size(); i++) {
            CorruptEntry c = corrupt.get(i);
            sb.append(i == 0 ? "" : "; ").append(c.ref()).append(": ").append(c.reason());
        }
        return sb.append(')').toString();
    }

    private List<String> modelNames() throws IOException {
        List<String> names = new ArrayList<>();
        for (FileStatus s : store.list(store.root)) {
            String name = s.getPath().getName();
            if (s.isDirectory() && Names.isModel(name)) {
                names.add(name);
            }
        }
        names.sort(null);
        return names;
    }

    private static List<String> aliasNames(List<VersionInfo> versions) {
        return versions.stream().flatMap(v -> v.aliases().stream()).sorted().toList();
    }

    private Path modelDir(String model) {
        return new Path(store.root, Names.model(model));
    }

    @Override
    public void close() throws IOException {
        store.close();
    }

    /** Opens a zoo with a Hadoop configuration and a clock; both default to a new Configuration and the UTC clock. */
    public static final class Builder {
        private final URI root;
        private Configuration conf = new Configuration();
        private Clock clock = Clock.systemUTC();
        private FaultHook hook = FaultHook.NONE;

        private Builder(URI root) {
            this.root = root;
        }

        public Builder setConf(Configuration conf) {
            this.conf = Objects.requireNonNull(conf, "conf");
            return this;
        }

        /** The clock gc measures the grace period with. */
        public Builder optClock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        Builder faultHook(FaultHook hook) {
            this.hook = hook;
            return this;
        }

        public ModelZoo open() throws IOException {
            return new ModelZoo(Store.open(root, conf, clock, hook));
        }
    }
}
