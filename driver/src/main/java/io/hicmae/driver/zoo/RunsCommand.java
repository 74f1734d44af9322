package io.hicmae.driver.zoo;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.RunArea;
import io.hicmae.zoo.RunLease;
import io.hicmae.zoo.RunStatus;
import java.io.IOException;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code hicmae runs list|show}: the training runs in a zoo's run area, from each run's status file (written by the
 * driver) and its newest committed checkpoint. Reads only small files and never waits for a live writer.
 */
@Command(
        name = "runs",
        mixinStandardHelpOptions = true,
        description = "List the training runs in a zoo, or show one: state, holder, steps, checkpoint, losses.",
        subcommands = {RunsCommand.ListCommand.class, RunsCommand.ShowCommand.class})
public final class RunsCommand implements Runnable {
    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    /** The clock that decides whether a running run's heartbeat expired (tests set it). */
    static Clock clock = Clock.systemUTC();

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "list", description = "Every run in the zoo's run area, one line each.")
    static final class ListCommand implements Callable<Integer> {
        @Mixin ZooCommand.ZooOptions opts;

        @Override
        public Integer call() throws IOException {
            try (ModelZoo zoo = opts.open()) {
                List<RunArea.Run> runs = zoo.runs().list();
                Instant now = clock.instant();
                if (opts.json) {
                    JsonArray arr = new JsonArray();
                    runs.forEach(r -> arr.add(toJson(r, now)));
                    opts.printJson(arr);
                    return 0;
                }
                ZooCommand.Table t = new ZooCommand.Table("RUN", "MODEL", "STATE", "WORLD", "STEPS", "CHECKPOINT",
                        "LOSSES", "DETAIL");
                for (RunArea.Run r : runs) {
                    RunStatus s = r.status().orElse(null);
                    t.row(r.runId(), s == null ? "-" : s.model(), state(r, now), s == null ? "-"
                            : Integer.toString(s.worldSize()), steps(r), checkpoint(r.latest().orElse(null)),
                            s == null ? "-" : losses(s.losses()), detail(r, now));
                }
                t.print(opts.out(), "No runs in " + zoo.root());
                return 0;
            }
        }
    }

    @Command(name = "show", description = "One run in detail.")
    static final class ShowCommand implements Callable<Integer> {
        @Mixin ZooCommand.ZooOptions opts;

        @Parameters(paramLabel = "RUN_ID", description = "The run.")
        String runId;

        @Override
        public Integer call() throws IOException {
            try (ModelZoo zoo = opts.open()) {
                RunArea.Run r = zoo.runs().show(runId);
                Instant now = clock.instant();
                if (opts.json) {
                    opts.printJson(toJson(r, now));
                    return 0;
                }
                PrintWriter out = opts.out();
                RunStatus s = r.status().orElse(null);
                out.println("run:         " + r.runId());
                out.println("state:       " + state(r, now));
                if (s != null) {
                    out.println("model:       " + s.model());
                    out.println("holder:      " + s.holder());
                    out.println("started:     " + s.startedAt());
                    out.println("updated:     " + s.updatedAt());
                    if (s.heartbeatUntil() != null) {
                        out.println("until:       " + s.heartbeatUntil());
                    }
                    out.println("world size:  " + s.worldSize());
                    if (s.publishedVersion() != null) {
                        out.println("published:   " + s.publishedVersion());
                    }
                    if (s.lastError() != null) {
                        out.println("last error:  " + s.lastError());
                    }
                    out.println("losses:      " + losses(s.losses()));
                } else {
                    out.println("status:      " + r.problem());
                }
                out.println("steps:       " + steps(r));
                out.println("checkpoint:  " + checkpoint(r.latest().orElse(null)));
                return 0;
            }
        }
    }

    /** The state as of {@code now}; {@code unknown} without a readable status file. */
    static String state(RunArea.Run r, Instant now) {
        return r.state(now);
    }

    private static String detail(RunArea.Run r, Instant now) {
        if (r.status().isEmpty()) {
            return r.problem();
        }
        RunStatus s = r.status().get();
        String holder = r.lease().map(l -> l.holder() + " (lease epoch " + l.epoch() + ")").orElse(s.holder());
        Instant until = r.lease().map(RunLease.Holder::expiresAt).orElse(s.heartbeatUntil());
        return switch (r.state(now)) {
            case RunStatus.RUNNING -> "held by " + holder + " until " + until;
            case RunStatus.ABANDONED -> "held by " + holder + ", expired " + until;
            case RunStatus.FINISHED -> "published " + s.publishedVersion();
            case RunStatus.FAILED -> "error: " + s.lastError();
            default -> "";
        };
    }

    /** Steps done of planned: the status file's newest step, or the newest checkpoint's without one. */
    private static String steps(RunArea.Run r) {
        long cp = r.latest().map(Checkpoint::step).orElse(0L);
        return r.status().map(s -> Math.max(s.step(), cp) + "/" + s.plannedSteps()).orElse(cp + "/?");
    }

    private static String checkpoint(Checkpoint c) {
        return c == null ? "-" : c.step() + " at " + c.committedAt();
    }

    private static String losses(Map<String, Double> losses) {
        return losses.isEmpty() ? "-" : losses.entrySet().stream()
                .map(e -> e.getKey() + "=" + String.format("%.4f", e.getValue())).collect(Collectors.joining(" "));
    }

    static JsonObject toJson(RunArea.Run r, Instant now) {
        JsonObject o = r.status().map(RunStatus::toJson).orElseGet(JsonObject::new);
        o.addProperty("runId", r.runId());
        o.addProperty("state", state(r, now));
        if (r.problem() != null) {
            o.addProperty("problem", r.problem());
        }
        r.lease().ifPresent(l -> {
            JsonObject lease = new JsonObject();
            lease.addProperty("epoch", l.epoch());
            lease.addProperty("holder", l.holder());
            lease.addProperty("since", l.since().toString());
            lease.addProperty("expiresAt", l.expiresAt().toString());
            o.add("lease", lease);
        });
        r.latest().ifPresent(c -> {
            JsonObject cp = new JsonObject();
            cp.addProperty("step", c.step());
            cp.addProperty("committedAt", c.committedAt().toString());
            cp.addProperty("location", c.location().toString());
            o.add("lastCheckpoint", cp);
        });
        return o;
    }
}
