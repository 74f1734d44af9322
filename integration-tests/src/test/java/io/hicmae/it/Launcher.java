package io.hicmae.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs {@code bin/hicmae} (system property {@code hicmae.it.launcher}) as a user would, in its own process with
 * stdout and stderr in {@code <dir>/<name>.log}: the inherited environment less every {@code AWS_*} variable and
 * HADOOP_CONF_DIR, plus the given ones, so a test decides exactly where configuration and credentials come from.
 */
public final class Launcher {
    private final Path script;
    private final Path dir;
    private final Map<String, String> env;

    /** A launcher whose runs log into {@code dir} and see {@code env}. */
    public Launcher(Path dir, Map<String, String> env) throws IOException {
        String s = System.getProperty("hicmae.it.launcher");
        if (s == null || !Files.isRegularFile(Path.of(s))) {
            throw new IllegalStateException("Invalid value " + s + " for system property hicmae.it.launcher: "
                    + "not bin/hicmae (run the integration tests through Maven)");
        }
        this.script = Path.of(s).toAbsolutePath();
        this.dir = Files.createDirectories(dir);
        this.env = Map.copyOf(env);
    }

    /** Runs {@code hicmae args...}; a run that outlives {@code timeout} is killed with its process tree. */
    public Submission.Result run(String name, Duration timeout, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of("bash", script.toString()));
        command.addAll(List.of(args));
        Path log = dir.resolve(name + ".log");
        Files.writeString(log, "$ hicmae " + String.join(" ", args) + "\n");
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().keySet().removeIf(k -> k.startsWith("AWS_") || k.equals("HADOOP_CONF_DIR"));
        pb.environment().putAll(env);
        try (Submission run = new Submission(name, pb.start(), log)) {
            return run.awaitExit(timeout);
        }
    }
}
