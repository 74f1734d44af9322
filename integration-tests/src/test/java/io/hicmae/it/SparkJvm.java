package io.hicmae.it;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.spark.launcher.JavaModuleOptions;

/**
 * Starts JVMs the way Spark's launcher scripts do: {@code $SPARK_HOME/jars/*} as the classpath and the module flags
 * of Spark's {@link JavaModuleOptions}; and ends them, descendants first.
 */
final class SparkJvm {
    /** How long a killed JVM may take to be gone. */
    static final Duration EXIT_TIMEOUT = Duration.ofSeconds(30);

    private SparkJvm() {}

    /**
     * Starts {@code mainClass} with stdout and stderr in {@code log}.
     *
     * @param sparkHome a folder with {@code jars/}; it appears in the command line, so it marks the process
     * @param env added to the inherited environment, with SPARK_HOME, SPARK_SCALA_VERSION and SPARK_LOCAL_IP set
     */
    static Process start(Path sparkHome, String mainClass, List<String> jvmOptions, List<String> args,
            Map<String, String> env, Path workingDir, Path log) throws IOException {
        return start(sparkHome, null, mainClass, jvmOptions, args, env, workingDir, log);
    }

    /**
     * {@link #start(Path, String, List, List, Map, Path, Path)} with {@code hadoopConfDir} (its core-site.xml) on the
     * classpath after the Spark jars and as HADOOP_CONF_DIR, where Spark's launcher puts HADOOP_CONF_DIR.
     */
    static Process start(Path sparkHome, Path hadoopConfDir, String mainClass, List<String> jvmOptions,
            List<String> args, Map<String, String> env, Path workingDir, Path log) throws IOException {
        return start(List.of(), sparkHome, hadoopConfDir, mainClass, jvmOptions, args, env, workingDir, log);
    }

    /**
     * {@link #start(Path, Path, String, List, List, Map, Path, Path)} behind {@code prefix}, a command that execs
     * the JVM (e.g. {@code ip netns exec NS}); SPARK_LOCAL_IP from {@code env} when it has one.
     */
    static Process start(List<String> prefix, Path sparkHome, Path hadoopConfDir, String mainClass,
            List<String> jvmOptions, List<String> args, Map<String, String> env, Path workingDir, Path log)
            throws IOException {
        List<String> command = new ArrayList<>(prefix);
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(List.of(JavaModuleOptions.defaultModuleOptionArray()));
        command.addAll(jvmOptions);
        command.add("-cp");
        command.add(sparkHome.resolve("jars") + "/*" + (hadoopConfDir == null ? "" : ":" + hadoopConfDir));
        command.add(mainClass);
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command)
                .directory(workingDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        pb.environment().putAll(env);
        if (hadoopConfDir != null) {
            pb.environment().put("HADOOP_CONF_DIR", hadoopConfDir.toString());
        }
        pb.environment().put("SPARK_HOME", sparkHome.toString());
        // Without it a Worker cannot build an executor's command line: "Cannot find any build directories".
        pb.environment().put("SPARK_SCALA_VERSION", "2.13");
        pb.environment().put("SPARK_LOCAL_IP", env.getOrDefault("SPARK_LOCAL_IP", "127.0.0.1"));
        return pb.start();
    }

    /** The live processes whose command line contains {@code marker}, this JVM excluded. */
    static List<ProcessHandle> withMarker(String marker) {
        long self = ProcessHandle.current().pid();
        return ProcessHandle.allProcesses()
                .filter(p -> p.pid() != self && p.info().commandLine().orElse("").contains(marker))
                .toList();
    }

    /** Kills {@code root}'s descendants, then {@code root} (SIGKILL), without waiting. */
    static List<ProcessHandle> killTree(ProcessHandle root) {
        List<ProcessHandle> killed = new ArrayList<>(root.descendants().toList());
        killed.add(root);
        killed.forEach(ProcessHandle::destroyForcibly);
        return killed;
    }

    /** Waits until every process has exited. */
    static void awaitExit(Collection<ProcessHandle> processes, String what) {
        CompletableFuture<?>[] exits = processes.stream().map(ProcessHandle::onExit).toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(exits).get(EXIT_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("Still alive " + EXIT_TIMEOUT.toSeconds() + " s after SIGKILL: " + what
                    + " pids " + processes.stream().filter(ProcessHandle::isAlive).map(ProcessHandle::pid).toList(), e);
        } catch (ExecutionException e) {
            throw new IllegalStateException("Could not await the exit of " + what, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while awaiting the exit of " + what, e);
        }
    }
}
