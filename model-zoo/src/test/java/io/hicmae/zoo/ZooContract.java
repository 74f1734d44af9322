package io.hicmae.zoo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The behaviour every zoo must have, whatever its FileSystem and commit mode. Each test gets a fresh zoo root from
 * {@link #newRoot()} and a fresh local cache.
 */
abstract class ZooContract {
    private static final String MODEL = "hicmae-base";

    @TempDir java.nio.file.Path local;
    final TestClock clock = new TestClock();
    URI root;
    ModelZoo zoo;

    /** A new, empty zoo root for one test. */
    abstract URI newRoot() throws IOException;

    /** The Hadoop configuration that reaches the FileSystem, with any commit-mode switch. */
    abstract Configuration conf();

    @BeforeEach
    void openZoo() throws IOException {
        root = newRoot();
        zoo = open(FaultHook.NONE);
    }

    @AfterEach
    void closeZoo() throws IOException {
        zoo.close();
    }

    ModelZoo open(FaultHook hook) throws IOException {
        Configuration conf = new Configuration(conf());
        conf.set(ZooConfig.CACHE_DIR, local.resolve("cache").toString());
        return ModelZoo.builder(root.toString()).setConf(conf).optClock(clock).faultHook(hook).open();
    }

    /** The zoo's FileSystem without checksum side files, for tampering as an outsider would. */
    FileSystem rawFs() throws IOException {
        FileSystem fs = FileSystem.get(root, conf());
        return fs instanceof ChecksumFileSystem ? ((ChecksumFileSystem) fs).getRawFileSystem() : fs;
    }

    @Test
    void publishesCompleteVersionWithModelCardAndChecksums() throws IOException {
        VersionInfo v = zoo.publish(Fixtures.request(MODEL, "run-1"));

        assertEquals("v000001", v.version());
        assertEquals(List.of("latest"), v.aliases());
        VersionDetails details = zoo.describe(ModelRef.of(MODEL));
        Set<String> names = details.files().stream().map(FileEntry::name).collect(Collectors.toSet());
        assertEquals(Set.of("model.safetensors", "config.json", "metadata.json", "metrics.jsonl", "README.md",
                "loss-curve.png"), names);
        assertEquals("run-1", details.metadata().runId());
        assertEquals(clock.instant(), details.metadata().createdAt());
        try (InputStream in = zoo.open(v, "loss-curve.png")) {
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, in.readNBytes(4));
        }
        try (InputStream in = zoo.open(v, "README.md")) {
            assertTrue(new String(in.readAllBytes(), StandardCharsets.UTF_8).startsWith("# hicmae-base v000001"));
        }
        assertEquals(v, zoo.verify(ModelRef.of(MODEL)));
        assertEquals(List.of(MODEL), zoo.listModels().stream().map(ModelSummary::name).toList());
    }

    @Test
    void resolvesNameVersionAndAliasReferences() throws IOException {
        for (int i = 1; i <= 3; i++) {
            zoo.publish(Fixtures.request(MODEL, "run-" + i));
        }

        assertEquals("v000003", zoo.resolve(MODEL).version());
        assertEquals("v000003", zoo.resolve(MODEL + "@latest").version());
        assertEquals("v000002", zoo.resolve(MODEL + ":2").version());
        assertEquals("v000002", zoo.resolve(MODEL + ":v000002").version());
        ZooException missing = assertThrows(ZooException.class, () -> zoo.resolve(MODEL + ":9"));
        assertTrue(missing.getMessage().contains("No version v000009 of model hicmae-base in " + zoo.root()),
                missing.getMessage());
        ZooException noModel = assertThrows(ZooException.class, () -> zoo.resolve("other"));
        assertTrue(noModel.getMessage().contains("other"), noModel.getMessage());
    }

    @Test
    void concurrentPublishersGetDistinctCompleteVersions() throws Exception {
        int publishers = 4;
        int each = 2;
        ExecutorService pool = Executors.newFixedThreadPool(publishers);
        List<Future<List<VersionInfo>>> results = new ArrayList<>();
        try {
            for (int p = 0; p < publishers; p++) {
                int id = p;
                results.add(pool.submit(() -> {
                    List<VersionInfo> mine = new ArrayList<>();
                    for (int i = 0; i < each; i++) {
                        mine.add(zoo.publish(Fixtures.request(MODEL, "run-" + id + "-" + i)));
                    }
                    return mine;
                }));
            }
            Set<String> versions = new HashSet<>();
            for (Future<List<VersionInfo>> f : results) {
                for (VersionInfo v : f.get()) {
                    assertTrue(versions.add(v.version()), "two publishers got " + v.version());
                }
            }
        } finally {
            pool.shutdownNow();
        }

        List<VersionInfo> all = zoo.listVersions(MODEL);
        assertEquals(publishers * each, all.size());
        for (VersionInfo v : all) {
            zoo.verify(v.ref());
            String runId = zoo.describe(v.ref()).metadata().runId();
            try (InputStream in = zoo.open(v, "model.safetensors")) {
                assertEquals("weights of " + runId, new String(in.readAllBytes(), StandardCharsets.UTF_8),
                        v.version() + " mixes two publishers");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(FaultHook.Step.class)
    void publisherKilledAtAnyStepLeavesNoPartialVersionAndGcCleansUp(FaultHook.Step killAt) throws IOException {
        zoo.publish(Fixtures.request(MODEL, "run-before"));
        try (ModelZoo dying = open((step, detail) -> {
            if (step == killAt) {
                throw new SimulatedKill(step);
            }
        })) {
            assertThrows(SimulatedKill.class, () -> dying.publish(Fixtures.request(MODEL, "run-killed")));
        }

        List<VersionInfo> visible = zoo.listVersions(MODEL);
        for (VersionInfo v : visible) {
            zoo.verify(v.ref());
        }
        if (killAt == FaultHook.Step.AFTER_COMMIT) {
            assertEquals(2, visible.size(), "a committed version stays visible");
            assertEquals("run-killed", zoo.describe(ModelRef.of(MODEL)).metadata().runId());
            assertTrue(zoo.gc(5, true).items().isEmpty());
            return;
        }
        assertEquals(List.of("v000001"), visible.stream().map(VersionInfo::version).toList());
        assertTrue(zoo.gc(5, true).items().isEmpty(), "within the grace period a publisher may still be alive");

        clock.advance(zoo.config().stagingGrace().plus(Duration.ofMinutes(1)));
        GcPlan plan = zoo.gc(5, true);
        assertFalse(plan.items().isEmpty(), "gc must plan to remove the leftovers of a kill at " + killAt);
        assertFalse(plan.executed());
        assertTrue(plan.items().stream().noneMatch(i -> i.reason() == GcPlan.Reason.OLD_VERSION), plan.toString());
        assertTrue(zoo.gc(5, false).executed());
        assertTrue(zoo.gc(5, true).items().isEmpty(), "gc left something behind");
        assertEquals(List.of("v000001"), zoo.listVersions(MODEL).stream().map(VersionInfo::version).toList());
        assertEquals("v000002", zoo.publish(Fixtures.request(MODEL, "run-after")).version());
        zoo.verify(ModelRef.of(MODEL));
    }

    @Test
    void failedPublishRemovesItsFilesAndKeepsOnlyTheClaim() throws IOException {
        try (ModelZoo failing = open((step, detail) -> {
            if (step == FaultHook.Step.BEFORE_COMMIT) {
                throw new IOException("disk full");
            }
        })) {
            IOException e = assertThrows(IOException.class, () -> failing.publish(Fixtures.request(MODEL, "run-1")));
            assertEquals("disk full", e.getMessage());
        }
        clock.advance(zoo.config().stagingGrace().plus(Duration.ofMinutes(1)));

        assertEquals(List.of(GcPlan.Reason.STALE_CLAIM),
                zoo.gc(1, true).items().stream().map(GcPlan.Item::reason).toList());
    }

    @Test
    void tamperedFileFailsVerifyAndPullLeavesNoDestination() throws IOException {
        VersionInfo v = zoo.publish(Fixtures.request(MODEL, "run-1"));
        try (OutputStream out = rawFs().create(new Path(new Path(v.location()), "model.safetensors"), true)) {
            out.write("evil".getBytes(StandardCharsets.UTF_8));
        }

        ChecksumMismatchException verify = assertThrows(ChecksumMismatchException.class, () -> zoo.verify(v.ref()));
        assertEquals("model.safetensors", verify.file());
        assertTrue(verify.getMessage().contains(v.location() + "/model.safetensors"), verify.getMessage());
        java.nio.file.Path dest = local.resolve("pulled").resolve("model");
        ChecksumMismatchException pull = assertThrows(ChecksumMismatchException.class, () -> zoo.pull(v.ref(), dest));
        assertEquals("model.safetensors", pull.file());
        assertFalse(Files.exists(dest));
        assertEquals(List.of(), listLocal(dest.getParent()), "no half-copied destination beside it");
        assertEquals(List.of(), listLocal(local.resolve("cache")), "nothing cached");
    }

    @Test
    void unlistedOrTamperedChecksumFileFailsVerify() throws IOException {
        VersionInfo v = zoo.publish(Fixtures.request(MODEL, "run-1"));
        Path dir = new Path(v.location());
        try (OutputStream out = rawFs().create(new Path(dir, "extra.bin"), false)) {
            out.write(1);
        }
        assertEquals("extra.bin", assertThrows(ChecksumMismatchException.class, () -> zoo.verify(v.ref())).file());
        rawFs().delete(new Path(dir, "extra.bin"), false);

        try (OutputStream out = rawFs().create(new Path(dir, "SHA256SUMS"), true)) {
            out.write(("0".repeat(64) + "  model.safetensors\n").getBytes(StandardCharsets.UTF_8));
        }
        assertEquals("SHA256SUMS", assertThrows(ChecksumMismatchException.class, () -> zoo.verify(v.ref())).file());
    }

    @Test
    void aliasesMoveAtomicallyWhileReadersResolve() throws Exception {
        VersionInfo v1 = zoo.publish(Fixtures.request(MODEL, "run-1"));
        VersionInfo v2 = zoo.publish(Fixtures.request(MODEL, "run-2"));
        zoo.promote(v1.ref(), "production");
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<Throwable> readerError = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                while (!done.get()) {
                    String seen = zoo.resolve(MODEL + "@production").version();
                    if (!seen.equals(v1.version()) && !seen.equals(v2.version())) {
                        throw new AssertionError("production resolved to " + seen);
                    }
                }
            } catch (Throwable t) {
                readerError.set(t);
            }
        });
        reader.start();
        try {
            for (int i = 0; i < 20; i++) {
                zoo.promote((i % 2 == 0 ? v2 : v1).ref(), "production");
            }
        } finally {
            done.set(true);
            reader.join();
        }

        assertEquals(null, readerError.get(), () -> "a reader saw a half-moved alias: " + readerError.get());
        assertEquals(v1.version(), zoo.resolve(MODEL + "@production").version());
        assertEquals(Map.of("production", "v000001"), zoo.aliases(MODEL));
        assertEquals(List.of("production"), zoo.listVersions(MODEL).get(0).aliases());
        assertThrows(IllegalArgumentException.class, () -> zoo.promote(v1.ref(), "latest"));
        ZooException none = assertThrows(ZooException.class, () -> zoo.resolve(MODEL + "@nightly"));
        assertTrue(none.getMessage().contains("No alias nightly for model hicmae-base"), none.getMessage());
    }

    @Test
    void gcKeepsNewestAndAliasedVersionsAndDryRunsFirst() throws IOException {
        for (int i = 1; i <= 5; i++) {
            zoo.publish(Fixtures.request(MODEL, "run-" + i));
        }
        zoo.promote(ModelRef.ofVersion(MODEL, 1), "production");
        clock.advance(zoo.config().versionGrace().plus(Duration.ofMinutes(1)));

        GcPlan plan = zoo.gc(2, true);
        assertEquals(List.of("hicmae-base:v000002", "hicmae-base:v000003"),
                plan.items().stream().map(GcPlan.Item::detail).toList());
        assertEquals(5, zoo.listVersions(MODEL).size(), "a dry run deletes nothing");

        zoo.gc(2, false);
        assertEquals(List.of("v000001", "v000004", "v000005"),
                zoo.listVersions(MODEL).stream().map(VersionInfo::version).toList());
        assertEquals("v000006", zoo.publish(Fixtures.request(MODEL, "run-6")).version(), "numbers are never reused");
        assertThrows(IllegalArgumentException.class, () -> zoo.gc(0, true));
    }

    @Test
    void pullIsVerifiedAndCachedByDigest() throws IOException {
        VersionInfo v = zoo.publish(Fixtures.request(MODEL, "run-1"));
        java.nio.file.Path first = zoo.pull(ModelRef.of(MODEL), local.resolve("first"));
        assertEquals("weights of run-1", Files.readString(first.resolve("model.safetensors")));
        assertTrue(Files.isDirectory(local.resolve("cache").resolve(v.digest())));

        // The cache answers from now on: the remote weights are not read again.
        rawFs().delete(new Path(new Path(v.location()), "model.safetensors"), false);
        java.nio.file.Path second = zoo.pull(v.ref(), local.resolve("second"));
        assertEquals("weights of run-1", Files.readString(second.resolve("model.safetensors")));
        assertEquals(first, zoo.pull(v.ref(), first), "pulling to the same place again is a no-op");

        Files.createDirectories(local.resolve("busy"));
        Files.writeString(local.resolve("busy").resolve("x"), "x");
        ZooException busy = assertThrows(ZooException.class, () -> zoo.pull(v.ref(), local.resolve("busy")));
        assertTrue(busy.getMessage().contains("exists and holds something else"), busy.getMessage());
    }

    @Test
    void checkpointsAreAtomicRetainedAndReadable() throws IOException {
        CheckpointStore store = zoo.checkpoints();
        for (long step = 100; step <= 400; step += 100) {
            byte[] state = ("state at " + step).getBytes(StandardCharsets.UTF_8);
            store.write("run-7", step, Map.of("trainer.bin", ContentWriter.of(state), "rng.json",
                    ContentWriter.of("{}".getBytes(StandardCharsets.UTF_8))));
        }
        assertEquals(List.of(200L, 300L, 400L), store.list("run-7").stream().map(Checkpoint::step).toList());

        try (ModelZoo dying = open((step, detail) -> {
            if (step == FaultHook.Step.BEFORE_COMMIT) {
                throw new SimulatedKill(step);
            }
        })) {
            assertThrows(SimulatedKill.class, () -> dying.checkpoints().write("run-7", 500,
                    Map.of("trainer.bin", ContentWriter.of(new byte[] {1}))));
        }
        Checkpoint latest = store.latest("run-7").orElseThrow();
        assertEquals(400, latest.step());
        assertEquals(List.of("rng.json", "trainer.bin"), latest.files());
        try (InputStream in = store.open(latest, "trainer.bin")) {
            assertEquals("state at 400", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
        assertTrue(store.latest("run-unknown").isEmpty());
        assertTrue(zoo.listModels().isEmpty(), "checkpoints are not versions");

        clock.advance(zoo.config().stagingGrace().plus(Duration.ofMinutes(1)));
        assertEquals(1, zoo.gc(1, true).items().size(), "the killed checkpoint write is gc's to clean");
    }

    @Test
    void corruptMarkerOrMetadataIsListedWithItsReasonAndBlocksNothingElse() throws IOException {
        for (int i = 1; i <= 3; i++) {
            zoo.publish(Fixtures.request(MODEL, "run-" + i));
        }
        VersionInfo other = zoo.publish(Fixtures.request("other", "run-o"));
        Path v2 = new Path(zoo.resolve(MODEL + ":2").location());
        Path v3 = new Path(zoo.resolve(MODEL + ":3").location());
        overwrite(new Path(v2, "_COMMITTED"), "garbage{");
        overwrite(new Path(v3, "metadata.json"), "[]");

        List<CorruptEntry> corrupt = zoo.listCorrupt(MODEL);
        assertEquals(List.of("hicmae-base:v000002", "hicmae-base:v000003"),
                corrupt.stream().map(CorruptEntry::ref).toList());
        assertTrue(corrupt.get(0).location().toString().endsWith("v000002/_COMMITTED"), corrupt.toString());
        assertTrue(corrupt.get(1).location().toString().endsWith("v000003/metadata.json"), corrupt.toString());
        assertTrue(corrupt.get(0).reason().contains("JSON"), corrupt.get(0).reason());
        assertEquals(List.of("v000001"), zoo.listVersions(MODEL).stream().map(VersionInfo::version).toList());
        List<ModelSummary> models = zoo.listModels();
        assertEquals(List.of(MODEL, "other"), models.stream().map(ModelSummary::name).toList());
        assertEquals("v000001", models.get(0).latest(), "latest is the newest readable version");
        assertEquals(2, models.get(0).corrupt().size());
        assertEquals(List.of(), models.get(1).corrupt());

        assertEquals("v000001", zoo.verify(ModelRef.of(MODEL)).version());
        assertEquals(other, zoo.verify(other.ref()));
        java.nio.file.Path pulled = zoo.pull(ModelRef.parse(MODEL + ":1"), local.resolve("pulled"));
        assertEquals("weights of run-1", Files.readString(pulled.resolve("model.safetensors")));
        ZooException named = assertThrows(ZooException.class, () -> zoo.resolve(MODEL + ":2"));
        assertTrue(named.getMessage().contains("v000002") && named.getMessage().contains("corrupt")
                && named.getMessage().contains("_COMMITTED"), named.getMessage());

        GcPlan plan = zoo.gc(5, true);
        assertEquals(List.of(GcPlan.Reason.CORRUPT, GcPlan.Reason.CORRUPT),
                plan.items().stream().map(GcPlan.Item::reason).toList(), plan.toString());
        zoo.gc(5, false);
        assertEquals(List.of(), zoo.listCorrupt(MODEL));
        assertFalse(rawFs().exists(v2));
        assertFalse(rawFs().exists(v3));
        assertEquals("v000001", zoo.verify(ModelRef.of(MODEL)).version());
        assertEquals(other, zoo.verify(other.ref()));
        assertEquals("v000004", zoo.publish(Fixtures.request(MODEL, "run-4")).version(), "numbers are never reused");
    }

    @Test
    void corruptAliasIsListedAndOthersResolve() throws IOException {
        VersionInfo v1 = zoo.publish(Fixtures.request(MODEL, "run-1"));
        VersionInfo v2 = zoo.publish(Fixtures.request(MODEL, "run-2"));
        zoo.promote(v1.ref(), "production");
        zoo.promote(v2.ref(), "production");
        zoo.promote(v2.ref(), "nightly");
        Path records = new Path(new Path(new Path(root), MODEL), "_aliases/production");
        overwrite(new Path(records, "000000000002"), "v000002 and some garbage");

        assertEquals(List.of("hicmae-base@production"),
                zoo.listCorrupt(MODEL).stream().map(CorruptEntry::ref).toList());
        assertEquals(Map.of("nightly", "v000002"), zoo.aliases(MODEL));
        assertEquals("v000002", zoo.resolve(MODEL + "@nightly").version());
        assertEquals("v000001", zoo.resolve(MODEL + ":1").version());
        ZooException e = assertThrows(ZooException.class, () -> zoo.resolve(MODEL + "@production"));
        assertTrue(e.getMessage().contains("production") && e.getMessage().contains("corrupt"), e.getMessage());
        assertEquals(CorruptEntry.Kind.ALIAS, zoo.listModels().get(0).corrupt().get(0).kind());

        GcPlan plan = zoo.gc(5, false);
        assertEquals(List.of(GcPlan.Reason.CORRUPT), plan.items().stream().map(GcPlan.Item::reason).toList());
        assertEquals(List.of(), zoo.listCorrupt(MODEL));
        assertEquals(2, zoo.listVersions(MODEL).size(), "gc of a corrupt alias touches no version");
        assertThrows(ZooException.class, () -> zoo.resolve(MODEL + "@production"));
        assertEquals("v000001", zoo.promote(v1.ref(), "production").version());
    }

    @Test
    void aliasMovesAreCompareAndSet() throws Exception {
        VersionInfo v1 = zoo.publish(Fixtures.request(MODEL, "run-1"));
        VersionInfo v2 = zoo.publish(Fixtures.request(MODEL, "run-2"));
        VersionInfo v3 = zoo.publish(Fixtures.request(MODEL, "run-3"));
        assertEquals("v000001", zoo.promoteIf(v1.ref(), "production", null).version());
        ZooException exists = assertThrows(ZooException.class, () -> zoo.promoteIf(v2.ref(), "production", null));
        assertTrue(exists.getMessage().contains("points at v000001"), exists.getMessage());
        assertEquals("v000002", zoo.promoteIf(v2.ref(), "production", "v000001").version());
        ZooException stale = assertThrows(ZooException.class, () -> zoo.promoteIf(v3.ref(), "production", "1"));
        assertTrue(stale.getMessage().contains("points at v000002, not v000001"), stale.getMessage());
        assertEquals("v000002", zoo.resolve(MODEL + "@production").version(), "a failed move changes nothing");

        int movers = 4;
        ExecutorService pool = Executors.newFixedThreadPool(movers);
        java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(movers);
        List<Future<String>> results = new ArrayList<>();
        try {
            for (int i = 0; i < movers; i++) {
                VersionInfo target = i % 2 == 0 ? v1 : v3;
                results.add(pool.submit(() -> {
                    start.await(30, java.util.concurrent.TimeUnit.SECONDS);
                    try {
                        return zoo.promoteIf(target.ref(), "production", "v000002").version();
                    } catch (ZooException e) {
                        return "lost";
                    }
                }));
            }
            List<String> outcomes = new ArrayList<>();
            for (Future<String> f : results) {
                outcomes.add(f.get());
            }
            List<String> won = outcomes.stream().filter(o -> !o.equals("lost")).toList();
            assertEquals(1, won.size(), "exactly one compare-and-set from v000002 wins: " + outcomes);
            assertEquals(won.get(0), zoo.resolve(MODEL + "@production").version());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void gcKeepsAVersionForTheGracePeriodAfterItStopsBeingNewestOrAliased() throws IOException {
        VersionInfo v1 = zoo.publish(Fixtures.request(MODEL, "run-1"));
        zoo.promote(v1.ref(), "production");
        zoo.publish(Fixtures.request(MODEL, "run-2"));
        VersionInfo v3 = zoo.publish(Fixtures.request(MODEL, "run-3"));
        assertEquals(List.of(), zoo.gc(1, true).items(), "v000002 was latest a moment ago: a pull may be running");

        Duration past = zoo.config().versionGrace().plus(Duration.ofMinutes(1));
        clock.advance(past);
        zoo.promote(v3.ref(), "production");
        assertEquals(List.of("hicmae-base:v000002"), zoo.gc(1, true).items().stream()
                .filter(i -> i.reason() == GcPlan.Reason.OLD_VERSION).map(GcPlan.Item::detail).toList(),
                "v000001 lost its alias a moment ago");

        clock.advance(past.plus(zoo.config().stagingGrace()));
        GcPlan plan = zoo.gc(1, false);
        assertEquals(List.of("hicmae-base:v000001", "hicmae-base:v000002"), plan.items().stream()
                .filter(i -> i.reason() == GcPlan.Reason.OLD_VERSION).map(GcPlan.Item::detail).toList());
        assertEquals(1, plan.items().stream().filter(i -> i.reason() == GcPlan.Reason.OLD_ALIAS_MOVE).count(),
                "the superseded alias record goes too");
        assertEquals("v000003", zoo.resolve(MODEL + "@production").version());
        assertEquals(List.of(), zoo.gc(1, true).items());
    }

    @Test
    void aCorruptOrTruncatedNewestCheckpointIsSkippedForTheNewestIntactOne() throws IOException {
        CheckpointStore store = zoo.checkpoints();
        java.nio.file.Path into = local.resolve("fetched");
        assertTrue(store.fetchNewestIntact("run-8", into).isEmpty(), "a run without checkpoints starts fresh");
        for (long step = 100; step <= 300; step += 100) {
            store.write("run-8", step, Map.of("trainer.bin", ContentWriter.of(("state at " + step).repeat(100)
                    .getBytes(StandardCharsets.UTF_8))));
        }
        List<Checkpoint> all = store.list("run-8");
        Path newest = new Path(all.get(2).location());
        overwrite(new Path(newest, "trainer.bin"), "state at 300"); // truncated
        ChecksumMismatchException truncated = assertThrows(ChecksumMismatchException.class,
                () -> store.verify(all.get(2)));
        assertEquals("trainer.bin", truncated.file());
        assertTrue(truncated.getMessage().contains(all.get(2).location().toString()), truncated.getMessage());

        assertEquals(200, store.fetchNewestIntact("run-8", into).orElseThrow().step());
        assertEquals("state at 200".repeat(100), Files.readString(into.resolve("trainer.bin")));
        Store.deleteLocal(into);

        overwrite(new Path(new Path(all.get(1).location()), "_COMMITTED"), "{\"sums\": 7}");
        assertEquals(List.of(100L, 300L), store.list("run-8").stream().map(Checkpoint::step).toList(),
                "a checkpoint whose marker cannot be read is not listed");
        assertEquals(100, store.fetchNewestIntact("run-8", into).orElseThrow().step());
        Store.deleteLocal(into);

        rawFs().delete(new Path(new Path(all.get(0).location()), "trainer.bin"), false);
        ZooException none = assertThrows(ZooException.class, () -> store.fetchNewestIntact("run-8", into));
        for (String named : List.of("step-000000000100", "step-000000000200", "step-000000000300")) {
            assertTrue(none.getMessage().contains(named), none.getMessage());
        }
        assertTrue(none.getMessage().startsWith("Run run-8 has no intact checkpoint"), none.getMessage());
        assertFalse(Files.exists(into), "nothing half-fetched is left");
        assertEquals(1, zoo.gc(1, true).items().stream().filter(i -> i.reason() == GcPlan.Reason.CORRUPT).count(),
                "the checkpoint with a corrupt marker is gc's");
    }

    @Test
    void oneWriterPerRunAndAStaleEpochCanNeitherCommitNorDelete() throws IOException {
        CheckpointStore store = zoo.checkpoints();
        Map<String, ContentWriter> files = Map.of("trainer.bin", ContentWriter.of(new byte[] {1, 2, 3}));
        RunLease first = store.acquireLease("run-9", "job-a on host-1", false);
        assertEquals(1, first.epoch());
        RunLeaseException second = assertThrows(RunLeaseException.class,
                () -> store.acquireLease("run-9", "job-b on host-2", false));
        assertTrue(second.getMessage().contains("Run run-9 is held by job-a on host-1 since "
                + first.holder().since()), second.getMessage());
        for (long step = 1; step <= 4; step++) {
            store.write("run-9", step, files, first.epoch());
        }
        first.renew();

        // job-a dies without releasing: once its lease expires, job-b takes the run over with a higher epoch.
        clock.advance(zoo.config().leaseTtl().plusSeconds(1));
        try (RunLease taken = store.acquireLease("run-9", "job-b on host-2", false)) {
            assertEquals(2, taken.epoch());
            assertEquals("job-b on host-2", store.currentLease("run-9").orElseThrow().holder());
            List<Long> before = store.list("run-9").stream().map(Checkpoint::step).toList();
            RunLeaseException stale = assertThrows(RunLeaseException.class,
                    () -> store.write("run-9", 5, files, first.epoch()));
            assertTrue(stale.getMessage().contains("lease epoch 1 may not write checkpoint step 5")
                    && stale.getMessage().contains("job-b on host-2 (epoch 2"), stale.getMessage());
            assertEquals(before, store.list("run-9").stream().map(Checkpoint::step).toList(),
                    "the stale writer neither committed nor deleted");
            assertThrows(RunLeaseException.class, first::renew);
            store.write("run-9", 5, files, taken.epoch());
            assertEquals(List.of(3L, 4L, 5L), store.list("run-9").stream().map(Checkpoint::step).toList());
        }
        first.close();
        assertEquals(2, store.currentLease("run-9").orElseThrow().epoch(), "a lost lease is not released by its loser");
        try (RunLease third = store.acquireLease("run-9", "job-c", false)) {
            assertEquals(3, third.epoch(), "a released lease is taken at once");
        }
    }

    @Test
    void aLosingWriterNeverDeletesTheWinnersCommittedCheckpoint() throws IOException {
        byte[] winner = "winner".getBytes(StandardCharsets.UTF_8);
        try (ModelZoo losing = open((step, detail) -> {
            if (step == FaultHook.Step.BEFORE_COMMIT) {
                zoo.checkpoints().write("run-10", 7, Map.of("trainer.bin", ContentWriter.of(winner)));
            }
        })) {
            assertThrows(ZooException.class, () -> losing.checkpoints().write("run-10", 7,
                    Map.of("trainer.bin", ContentWriter.of("loser".getBytes(StandardCharsets.UTF_8)))));
        }
        Checkpoint kept = zoo.checkpoints().latest("run-10").orElseThrow();
        assertEquals(7, kept.step());
        zoo.checkpoints().verify(kept);
        try (InputStream in = zoo.checkpoints().open(kept, "trainer.bin")) {
            assertArrayEquals(winner, in.readAllBytes());
        }
    }

    void overwrite(Path p, String content) throws IOException {
        try (OutputStream out = rawFs().create(p, true)) {
            out.write(content.getBytes(StandardCharsets.UTF_8));
        }
    }

    private static List<String> listLocal(java.nio.file.Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return List.of();
        }
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    /** Stands for the JVM dying: an Error, so the publisher's own cleanup of ordinary failures does not run. */
    static final class SimulatedKill extends Error {
        SimulatedKill(FaultHook.Step step) {
            super("killed at " + step);
        }
    }
}
