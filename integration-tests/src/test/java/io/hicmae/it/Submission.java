package io.hicmae.it;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One running SparkSubmit JVM (the driver, in client mode), its stdout and stderr in {@link #log()}.
 * {@link #close()} kills it and its descendants if it still runs.
 */
public final class Submission implements AutoCloseable {
    private final String name;
    private final Process process;
    private final Path log;
    private final long startNanos = System.nanoTime();

    /**
     * How a submission ended.
     *
     * @param output everything the driver wrote to stdout and stderr
     * @param wall from start to exit
     * @param log where the output is
     */
    public record Result(int exitCode, String output, Duration wall, Path log) {
        /** The output lines that start with {@code prefix}. */
        public List<String> lines(String prefix) {
            return output.lines().filter(l -> l.startsWith(prefix)).toList();
        }

        /** The exit code and the log's bounded tail, for assertion messages. */
        public String describe() {
            return "exit code " + exitCode + " after " + wall.toMillis() + " ms" + Logs.tail(log);
        }
    }

    Submission(String name, Process process, Path log) {
        this.name = name;
        this.process = process;
        this.log = log;
    }

    public Path log() {
        return log;
    }

    /**
     * Waits for the first output line that passes {@code test}, and returns it.
     *
     * @param what the line awaited, for the error
     * @throws IllegalStateException when the driver exits first or {@code timeout} passes, with the log's tail
     */
    public String awaitLine(String what, Predicate<String> test, Duration timeout) {
        return Waits.until(what + " from submission " + name, timeout, () -> {
            boolean exited = !process.isAlive();
            Optional<String> line = Logs.completeLines(log).lines().filter(test).findFirst();
            if (line.isEmpty() && exited) {
                throw new IllegalStateException("the driver exited with code " + process.exitValue());
            }
            return line;
        }, () -> Logs.tail(log));
    }

    /**
     * Waits for the driver to exit. On timeout it kills the driver's process tree and says so.
     *
     * @throws IllegalStateException on timeout, with the log's tail
     */
    public Result awaitExit(Duration timeout) {
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                List<ProcessHandle> tree = SparkJvm.killTree(process.toHandle());
                SparkJvm.awaitExit(tree, "submission " + name);
                List<Long> killed = tree.stream().map(ProcessHandle::pid).toList();
                throw new IllegalStateException("Submission " + name + " still ran after "
                        + Waits.seconds(timeout) + "; killed its process tree, pids " + killed + Logs.tail(log));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while waiting for submission " + name, e);
        }
        try {
            return new Result(process.exitValue(), Files.readString(log),
                    Duration.ofNanos(System.nanoTime() - startNanos), log);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the log of submission " + name + ": " + log, e);
        }
    }

    /** kill -9 of the submitting JVM (the driver, in client mode), waiting until it is gone. */
    public void killDriver() {
        ProcessHandle driver = process.toHandle();
        driver.destroyForcibly();
        SparkJvm.awaitExit(List.of(driver), "driver of submission " + name);
    }

    /** Kills the driver and its descendants if it still runs, and waits until they are gone. */
    @Override
    public void close() {
        if (process.isAlive()) {
            SparkJvm.awaitExit(SparkJvm.killTree(process.toHandle()), "submission " + name);
        }
    }
}
