package io.hicmae.driver.zoo;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.zoo.CorruptEntry;
import io.hicmae.zoo.FileEntry;
import io.hicmae.zoo.GcPlan;
import io.hicmae.zoo.ModelRef;
import io.hicmae.zoo.ModelSummary;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.VersionDetails;
import io.hicmae.zoo.VersionInfo;
import io.hicmae.zoo.VersionMetadata;
import io.hicmae.zoo.ZooConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.hadoop.conf.Configuration;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code hicmae zoo list|show|pull|verify|promote|gc}: the model zoo from the command line. */
@Command(
        name = "zoo",
        mixinStandardHelpOptions = true,
        description = "List, inspect, pull, verify, promote and garbage-collect published model versions.",
        subcommands = {
            ZooCommand.ListCommand.class,
            ZooCommand.ShowCommand.class,
            ZooCommand.PullCommand.class,
            ZooCommand.VerifyCommand.class,
            ZooCommand.PromoteCommand.class,
            ZooCommand.GcCommand.class,
        })
public final class ZooCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    /** The options every zoo sub-command takes. */
    static final class ZooOptions {
        @Option(names = "--zoo", paramLabel = "URI", defaultValue = "./zoo",
                description = "The zoo root: file:, hdfs: or s3a: URI, or a local path (default: ${DEFAULT-VALUE}).")
        String zoo;

        @Option(names = "--json", description = "Print JSON instead of a table.")
        boolean json;

        @Option(names = "--cache-dir", paramLabel = "DIR",
                description = "Local cache of pulled versions (default: " + "~/.cache/hicmae/zoo).")
        Path cacheDir;

        @CommandLine.Spec(CommandLine.Spec.Target.MIXEE) CommandLine.Model.CommandSpec spec;

        ModelZoo open() throws IOException {
            Configuration conf = new Configuration();
            if (cacheDir != null) {
                conf.set(ZooConfig.CACHE_DIR, cacheDir.toString());
            }
            return ModelZoo.open(ModelZoo.rootUri(zoo), conf);
        }

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        void printJson(JsonElement json) {
            out().println(new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create().toJson(json));
        }
    }

    @Command(name = "list", description = "List the models, or the versions of one model.")
    static final class ListCommand implements Callable<Integer> {
        @Mixin ZooOptions opts;

        @Parameters(arity = "0..1", paramLabel = "MODEL", description = "List this model's versions.")
        String model;

        @Override
        public Integer call() throws IOException {
            try (ModelZoo zoo = opts.open()) {
                if (model == null) {
                    List<ModelSummary> models = zoo.listModels();
                    if (opts.json) {
                        JsonArray arr = new JsonArray();
                        for (ModelSummary m : models) {
                            JsonObject o = new JsonObject();
                            o.addProperty("name", m.name());
                            o.addProperty("versions", m.versions());
                            o.addProperty("latest", m.latest());
                            JsonObject aliases = new JsonObject();
                            m.aliases().forEach(aliases::addProperty);
                            o.add("aliases", aliases);
                            o.add("corrupt", corruptJson(m.corrupt()));
                            arr.add(o);
                        }
                        opts.printJson(arr);
                    } else {
                        Table t = new Table("MODEL", "VERSIONS", "LATEST", "ALIASES");
                        models.forEach(m -> t.row(m.name(), Integer.toString(m.versions()), m.latest(),
                                String.join(", ", m.aliases().entrySet().stream()
                                        .map(e -> e.getKey() + "=" + e.getValue()).sorted().toList())));
                        t.print(opts.out(), "No models in " + zoo.root());
                        models.forEach(m -> printCorrupt(opts, m.corrupt()));
                    }
                    return 0;
                }
                List<VersionInfo> versions = zoo.listVersions(model);
                List<CorruptEntry> corrupt = zoo.listCorrupt(model);
                if (opts.json) {
                    JsonArray arr = new JsonArray();
                    versions.forEach(v -> arr.add(toJson(v)));
                    corrupt.forEach(c -> arr.add(corruptJson(List.of(c)).get(0)));
                    opts.printJson(arr);
                } else {
                    Table t = new Table("VERSION", "COMMITTED", "ALIASES", "DIGEST");
                    versions.forEach(v -> t.row(v.version(), v.committedAt().toString(), String.join(", ", v.aliases()),
                            v.digest().substring(0, 12)));
                    t.print(opts.out(), "No published version of " + model + " in " + zoo.root());
                    printCorrupt(opts, corrupt);
                }
                return 0;
            }
        }
    }

    // zoo helper (#15 item 5): corrupt versions and aliases, listed with the reason.
    private static void printCorrupt(ZooOptions opts, List<CorruptEntry> corrupt) {
        corrupt.forEach(c -> opts.out().println("CORRUPT " + c.ref() + ": " + c.location() + ": " + c.reason()
                + " (gc --delete removes it)"));
    }

    private static JsonArray corruptJson(List<CorruptEntry> corrupt) {
        JsonArray arr = new JsonArray();
        for (CorruptEntry c : corrupt) {
            JsonObject o = new JsonObject();
            o.addProperty("corrupt", c.ref());
            o.addProperty("location", c.location().toString());
            o.addProperty("reason", c.reason());
            arr.add(o);
        }
        return arr;
    }

    @Command(name = "show", description = "Show a version's lineage and files.")
    static final class ShowCommand implements Callable<Integer> {
        @Mixin ZooOptions opts;

        @Parameters(paramLabel = "REF", description = "name, name:version or name@alias.")
        String ref;

        @Override
        public Integer call() throws IOException {
            try (ModelZoo zoo = opts.open()) {
                VersionDetails d = zoo.describe(ModelRef.parse(ref));
                VersionMetadata md = d.metadata();
                if (opts.json) {
                    JsonObject o = toJson(d.info());
                    o.add("metadata", JsonParser.parseString(md.toJson()));
                    JsonArray files = new JsonArray();
                    for (FileEntry f : d.files()) {
                        JsonObject fo = new JsonObject();
                        fo.addProperty("name", f.name());
                        fo.addProperty("size", f.size());
                        fo.addProperty("sha256", f.sha256());
                        files.add(fo);
                    }
                    o.add("files", files);
                    opts.printJson(o);
                    return 0;
                }
                Table kv = new Table("FIELD", "VALUE");
                kv.row("version", d.info().model() + ":" + d.info().version());
                kv.row("location", d.info().location().toString());
                kv.row("committed", d.info().committedAt().toString());
                kv.row("aliases", String.join(", ", d.info().aliases()));
                kv.row("digest", d.info().digest());
                kv.row("run", md.runId());
                kv.row("parent", md.parentVersion() == null ? "-" : md.parentVersion());
                kv.row("dataset", md.dataset() + " (_dataset.json " + md.datasetDigest().substring(0, 12) + ")");
                kv.row("steps", Long.toString(md.steps()));
                md.finalLosses().forEach((k, v) -> kv.row("final " + k, String.format("%.6f", v)));
                kv.row("code", md.codeVersion());
                kv.print(opts.out(), "");
                opts.out().println();
                Table files = new Table("FILE", "BYTES", "SHA256");
                d.files().forEach(f -> files.row(f.name(), Long.toString(f.size()), f.sha256()));
                files.print(opts.out(), "");
                return 0;
            }
        }
    }

    @Command(name = "pull", description = "Download a version into a directory, verifying every file.")
    static final class PullCommand implements Callable<Integer> {
        @Mixin ZooOptions opts;

        @Parameters(index = "0", paramLabel = "REF", description = "name, name:version or name@alias.")
        String ref;

        @Parameters(index = "1", paramLabel = "DIR", description = "Destination; must not exist yet.")
        Path dest;

        @Override
        public Integer call() throws IOException {
            try (ModelZoo zoo = opts.open()) {
                ModelRef r = ModelRef.parse(ref);
                VersionInfo v = zoo.resolve(r);
                Path at = zoo.pull(v.ref(), dest);
                if (opts.json) {
                    JsonObject o = toJson(v);
                    o.addProperty("pulledTo", at.toString());
                    opts.printJson(o);
                } else {
                    opts.out().println("Pulled " + v.model() + ":" + v.version() + " to " + at);
                }
                return 0;
            }
        }
    }

    @Command(name = "verify", description = "Check every file of a version against its SHA256SUMS.")
    static final class VerifyCommand implements Callable<Integer> {
        @Mixin ZooOptions opts;

        @Parameters(paramLabel = "REF", description = "name, name:version or name@alias.")
        String ref;

        @Override
        public Integer call() throws IOException {
            try (ModelZoo zoo = opts.open()) {
                VersionInfo v = zoo.verify(ModelRef.parse(ref));
                if (opts.json) {
                    JsonObject o = toJson(v);
                    o.addProperty("verified", true);
                    opts.printJson(o);
                } else {
                    opts.out().println("OK " + v.model() + ":" + v.version() + ": every file matches SHA256SUMS");
                }
                return 0;
            }
        }
    }

    @Command(name = "promote", description = "Point an alias (production, nightly, ...) at a version.")
    static final class PromoteCommand implements Callable<Integer> {
        @Mixin ZooOptions opts;

        @Parameters(index = "0", paramLabel = "REF", description = "name, name:version or name@alias.")
        String ref;

        @Parameters(index = "1", paramLabel = "ALIAS", description = "The alias to move; not 'latest'.")
        String alias;

        // zoo helper (#15 item 5): compare-and-set alias moves.
        @Option(names = "--expect", paramLabel = "VERSION", description = "Move only if the alias points at VERSION"
                + " now ('none': only if it does not exist yet); otherwise fail and change nothing.")
        String expect;

        @Override
        public Integer call() throws IOException {
            try (ModelZoo zoo = opts.open()) {
                VersionInfo v = expect == null ? zoo.promote(ModelRef.parse(ref), alias)
                        : zoo.promoteIf(ModelRef.parse(ref), alias, "none".equals(expect) ? null : expect);
                if (opts.json) {
                    opts.printJson(toJson(v));
                } else {
                    opts.out().println(v.model() + "@" + alias + " -> " + v.version());
                }
                return 0;
            }
        }
    }

    @Command(name = "gc", description = "Delete old unaliased versions and dead publishers' leftovers"
            + " (a dry run unless --delete).")
    static final class GcCommand implements Callable<Integer> {
        @Mixin ZooOptions opts;

        @Option(names = "--keep", paramLabel = "N", defaultValue = "5",
                description = "Versions to keep per model besides aliased ones (default: ${DEFAULT-VALUE}).")
        int keep;

        @Option(names = "--delete", description = "Delete; without it gc only prints its plan.")
        boolean delete;

        @Override
        public Integer call() throws IOException {
            try (ModelZoo zoo = opts.open()) {
                GcPlan plan = zoo.gc(keep, !delete);
                if (opts.json) {
                    JsonObject o = new JsonObject();
                    o.addProperty("executed", plan.executed());
                    JsonArray items = new JsonArray();
                    for (GcPlan.Item i : plan.items()) {
                        JsonObject io = new JsonObject();
                        io.addProperty("reason", i.reason().name());
                        io.addProperty("location", i.location().toString());
                        io.addProperty("detail", i.detail());
                        items.add(io);
                    }
                    o.add("items", items);
                    opts.printJson(o);
                    return 0;
                }
                Table t = new Table("REASON", "WHAT", "LOCATION");
                plan.items().forEach(i -> t.row(i.reason().name(), i.detail(), i.location().toString()));
                t.print(opts.out(), "Nothing to delete in " + zoo.root());
                if (!plan.items().isEmpty()) {
                    opts.out().println(plan.executed()
                            ? "Deleted " + plan.items().size() + " item(s)."
                            : "Dry run: nothing deleted. Run again with --delete to delete " + plan.items().size()
                                    + " item(s).");
                }
                return 0;
            }
        }
    }

    private static JsonObject toJson(VersionInfo v) {
        JsonObject o = new JsonObject();
        o.addProperty("model", v.model());
        o.addProperty("version", v.version());
        o.addProperty("location", v.location().toString());
        o.addProperty("committedAt", v.committedAt().toString());
        o.addProperty("digest", v.digest());
        JsonArray aliases = new JsonArray();
        v.aliases().forEach(aliases::add);
        o.add("aliases", aliases);
        return o;
    }

    /** A left-aligned text table, columns padded to their widest cell. */
    static final class Table {
        private final String[] header;
        private final List<String[]> rows = new ArrayList<>();

        Table(String... header) {
            this.header = header;
        }

        void row(String... cells) {
            rows.add(cells);
        }

        void print(PrintWriter out, String whenEmpty) {
            if (rows.isEmpty()) {
                out.println(whenEmpty);
                return;
            }
            int[] width = new int[header.length];
            for (String[] r : concat()) {
                for (int i = 0; i < r.length; i++) {
                    width[i] = Math.max(width[i], r[i].length());
                }
            }
            for (String[] r : concat()) {
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < r.length; i++) {
                    sb.append(i == r.length - 1 ? r[i] : String.format("%-" + width[i] + "s  ", r[i]));
                }
                out.println(sb.toString().stripTrailing());
            }
        }

        private List<String[]> concat() {
            List<String[]> all = new ArrayList<>();
            all.add(header);
            all.addAll(rows);
            return all;
        }
    }
}
