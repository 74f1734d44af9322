package io.hicmae.driver.spark;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * Test mode only: which clips each rank trained on, so that a test can show that no clip is skipped or seen twice
 * within an epoch across failures and resizes. On when the rank's JVM has the system property
 * {@value #PROPERTY} (a local directory, e.g. through {@code spark.executor.extraJavaOptions}); each rank of each
 * attempt then appends one line per micro-batch to {@code clips-<run>-a<attempt>-r<rank>.log}:
 * {@code step world rank slot id,id,...} (step 1-based, slot = the micro-batch's index in the step), flushed at
 * once so that a killed JVM leaves every line it consumed. Off (null from {@link #open}) otherwise.
 */
final class ClipLog implements Closeable {

    /** The system property naming the log directory. */
    static final String PROPERTY = "hicmae.test.clipLog";

    private final BufferedWriter out;

    private ClipLog(BufferedWriter out) {
        this.out = out;
    }

    /** The log of rank {@code rank} in attempt {@code attempt} of {@code runId}, or null when test mode is off. */
    static ClipLog open(String runId, int attempt, int rank) throws IOException {
        String dir = System.getProperty(PROPERTY);
        if (dir == null || dir.isBlank()) {
            return null;
        }
        Path d = Files.createDirectories(Path.of(dir));
        return new ClipLog(Files.newBufferedWriter(d.resolve("clips-" + runId + "-a" + attempt + "-r" + rank + ".log"),
                StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND));
    }

    /** Records the micro-batch of slot {@code slot} in 0-based step {@code step}. */
    void add(long step, int world, int rank, int slot, List<String> clipIds) throws IOException {
        out.write((step + 1) + " " + world + " " + rank + " " + slot + " " + String.join(",", clipIds) + "\n");
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
