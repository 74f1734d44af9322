package io.hicmae.it;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where the build put what the harness needs; failsafe passes each as a {@code hicmae.it.*} system property (see
 * this module's pom).
 *
 * @param sparkHome the fake SPARK_HOME: only {@code jars/}, Spark's runtime classpath
 * @param runRoot one folder per test class below it, with every process's log
 * @param jobsJar this module's test jar: the test jobs of {@code io.hicmae.it.jobs}
 * @param appJar the application jar that runs {@code HicmaeCli}
 * @param appLib the folder of jars the application needs beyond Spark's, or null for a self-contained appJar
 */
public record ItPaths(Path sparkHome, Path runRoot, Path jobsJar, Path appJar, Path appLib) {

    /** The paths from the system properties, each checked to exist. */
    public static ItPaths fromSystemProperties() {
        String lib = System.getProperty("hicmae.it.appLib", "");
        return new ItPaths(
                existing("hicmae.it.sparkHome"),
                Path.of(required("hicmae.it.runRoot")).toAbsolutePath(),
                existing("hicmae.it.jobsJar"),
                existing("hicmae.it.appJar"),
                lib.isBlank() ? null : existing("hicmae.it.appLib"));
    }

    private static String required(String key) {
        String value = System.getProperty(key);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("Missing system property " + key
                    + ": run the integration tests through Maven (mvn -B -pl integration-tests verify)");
        }
        return value;
    }

    private static Path existing(String key) {
        Path path = Path.of(required(key)).toAbsolutePath().normalize();
        if (!Files.exists(path)) {
            throw new IllegalStateException("Invalid value " + path + " for system property " + key
                    + ": does not exist; build it first with: mvn -B -DskipTests install");
        }
        return path;
    }
}
