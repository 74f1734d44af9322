package io.hicmae.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * What spark-submit runs: a main class, the application jar, and the jars it needs beyond Spark's ({@code --jars}).
 *
 * @param jars passed as {@code --jars}; empty for a self-contained application jar
 */
public record Application(String mainClass, Path jar, List<Path> jars) {

    /**
     * {@code io.hicmae.driver.HicmaeCli} from {@code hicmae.it.appJar}, with the jars of {@code hicmae.it.appLib}
     * that the Spark home lacks (by file name), as {@code bin/hicmae} would load them.
     */
    public static Application hicmae(ItPaths paths) throws IOException {
        if (paths.appLib() == null) {
            return new Application("io.hicmae.driver.HicmaeCli", paths.appJar(), List.of());
        }
        Set<String> spark;
        try (Stream<Path> jars = Files.list(paths.sparkHome().resolve("jars"))) {
            spark = jars.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
        try (Stream<Path> lib = Files.list(paths.appLib())) {
            List<Path> extra = lib.filter(p -> p.getFileName().toString().endsWith(".jar"))
                    .filter(p -> !spark.contains(p.getFileName().toString()))
                    .sorted()
                    .toList();
            return new Application("io.hicmae.driver.HicmaeCli", paths.appJar(), extra);
        }
    }

    /** A test job that also needs our modules: the test jar with the hicmae application's jars beside it. */
    public static Application testJobWithHicmae(ItPaths paths, Class<?> mainClass) throws IOException {
        Application app = hicmae(paths);
        List<Path> jars = new java.util.ArrayList<>(app.jars());
        jars.add(0, app.jar());
        return new Application(mainClass.getName(), paths.jobsJar(), List.copyOf(jars));
    }

    /** A test job of {@code io.hicmae.it.jobs}, from this module's test jar; its classes need only Spark's. */
    public static Application testJob(ItPaths paths, Class<?> mainClass) {
        return new Application(mainClass.getName(), paths.jobsJar(), List.of());
    }

    /** This application with {@code more} added to its {@code --jars}, e.g. the test jar for a test file system. */
    public Application plusJars(Path... more) {
        List<Path> all = new java.util.ArrayList<>(jars);
        all.addAll(List.of(more));
        return new Application(mainClass, jar, List.copyOf(all));
    }
}
