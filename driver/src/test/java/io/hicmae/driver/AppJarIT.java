package io.hicmae.driver;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The spark-submit application jar built by {@code package}: what it must hold, what the cluster provides instead, and
 * that it runs on a cluster-like classpath with libtorch installed the way the Docker images install it.
 */
class AppJarIT {

    private static final Path TARGET = Path.of("target");
    private static final Path APP_JAR = TARGET.resolve("hicmae-app.jar");
    private static final Path LIB = TARGET.resolve("lib");
    private static final String NATIVE_CPU_JAR = "pytorch-native-cpu-2.7.1-linux-x86_64.jar";

    /** target/lib jars whose content is in the app jar (or, for libtorch, in the image), so a cluster lacks them. */
    private static final List<String> NOT_ON_CLUSTER = List.of("worker-runtime-", "dataset-prep-", "model-zoo-",
            "api-", "pytorch-", "jna-", "gson-", "picocli-", "javacpp-", "ffmpeg-", "jfreechart-", "javafx-");

    private static List<String> entries;

    @BeforeAll
    static void readJar() throws IOException {
        assertTrue(Files.isRegularFile(APP_JAR), APP_JAR.toAbsolutePath() + " is missing; run mvn package first");
        try (JarFile jar = new JarFile(APP_JAR.toFile())) {
            entries = new ArrayList<>();
            for (Enumeration<? extends ZipEntry> e = jar.entries(); e.hasMoreElements(); ) {
                entries.add(e.nextElement().getName());
            }
        }
    }

    @Test
    void holdsOurClassesDjlAndTheJni() {
        for (String required : List.of("io/hicmae/driver/HicmaeCli.class", "io/hicmae/runtime/config/HicmaeConfig.class",
                "ai/djl/ndarray/NDArray.class", "ai/djl/pytorch/engine/PtEngine.class",
                "jnilib/linux-x86_64/cpu/libdjl_torch.so", "jnilib/linux-x86_64/cu128/libdjl_torch.so",
                "picocli/CommandLine.class", "org/bytedeco/ffmpeg/global/avformat.class")) {
            assertTrue(entries.contains(required), "app jar lacks " + required);
        }
    }

    @Test
    void leavesClusterLibrariesAndLibtorchOut() {
        for (String prefix : List.of("org/apache/spark/", "scala/", "org/apache/hadoop/", "org/apache/logging/",
                "org/slf4j/", "pytorch/cpu/", "javafx/")) {
            List<String> found = entries.stream().filter(n -> n.startsWith(prefix)).limit(3).collect(Collectors.toList());
            assertTrue(found.isEmpty(), "app jar holds " + prefix + " entries the cluster provides, e.g. " + found);
        }
        assertFalse(entries.contains("log4j2.properties"), "app jar must leave logging to the cluster's log4j2.properties");
    }

    @Test
    void hasMainClassMergedServicesAndNoSignatures() throws IOException {
        try (JarFile jar = new JarFile(APP_JAR.toFile())) {
            Manifest manifest = jar.getManifest();
            assertEquals("io.hicmae.driver.HicmaeCli", manifest.getMainAttributes().getValue("Main-Class"));
            ZipEntry services = jar.getEntry("META-INF/services/ai.djl.engine.EngineProvider");
            assertTrue(services != null, "app jar lacks DJL's engine service file");
            try (InputStream in = jar.getInputStream(services)) {
                String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(text.contains("ai.djl.pytorch.engine.PtEngineProvider"), "engine services not merged: " + text);
            }
        }
        List<String> signatures = entries.stream()
                .filter(n -> n.matches("META-INF/[^/]+\\.(SF|DSA|RSA|EC)")).collect(Collectors.toList());
        assertTrue(signatures.isEmpty(), "signature files left in the app jar: " + signatures);
    }

    /**
     * Runs a training step from the app jar beside only the cluster's jars, with libtorch unpacked from the native jar
     * and the JNI placed in the engine cache exactly as docker/Dockerfile.cpu does; nothing may be extracted at start.
     */
    @Test
    void trainsOnClusterClasspathWithImageLibtorch(@TempDir Path tmp) throws Exception {
        Path libtorch = tmp.resolve("libtorch");
        Path engines = tmp.resolve("engines");
        Path jniDir = engines.resolve("pytorch/2.7.1-cpu-linux-x86_64");
        Files.createDirectories(libtorch);
        Files.createDirectories(jniDir);
        try (JarFile nativeJar = new JarFile(LIB.resolve(NATIVE_CPU_JAR).toFile());
                JarFile app = new JarFile(APP_JAR.toFile())) {
            for (Enumeration<? extends ZipEntry> e = nativeJar.entries(); e.hasMoreElements(); ) {
                ZipEntry entry = e.nextElement();
                if (entry.getName().startsWith("pytorch/cpu/linux-x86_64/") && !entry.isDirectory()) {
                    Path out = libtorch.resolve(Path.of(entry.getName()).getFileName());
                    try (InputStream in = nativeJar.getInputStream(entry)) {
                        Files.copy(in, out, StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            }
            try (InputStream in = app.getInputStream(app.getEntry("jnilib/linux-x86_64/cpu/libdjl_torch.so"))) {
                Files.copy(in, jniDir.resolve("0.36.0-libdjl_torch.so"));
            }
        }

        List<String> classpath = new ArrayList<>();
        classpath.add(APP_JAR.toAbsolutePath().toString());
        try (Stream<Path> jars = Files.list(LIB)) {
            jars.map(p -> p.getFileName().toString())
                    .filter(name -> NOT_ON_CLUSTER.stream().noneMatch(name::startsWith))
                    .sorted()
                    .forEach(name -> classpath.add(LIB.resolve(name).toAbsolutePath().toString()));
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> a.startsWith("--add-opens")).forEach(command::add);
        command.addAll(List.of("-Dai.djl.offline=true", "-cp", String.join(":", classpath), "io.hicmae.driver.HicmaeCli",
                "demo", "--preset", "tiny", "--steps", "1", "--batch-size", "2", "--clips", "2", "--device", "cpu"));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        pb.environment().put("PYTORCH_LIBRARY_PATH", libtorch.toString());
        pb.environment().put("PYTORCH_FLAVOR", "cpu");
        pb.environment().put("PYTORCH_VERSION", "2.7.1");
        pb.environment().put("ENGINE_CACHE_DIR", engines.toString());
        Path log = tmp.resolve("demo.log");
        pb.redirectOutput(log.toFile());
        Process p = pb.start();
        if (!p.waitFor(5, TimeUnit.MINUTES)) {
            p.destroyForcibly();
            fail("demo from the app jar did not finish in 5 minutes; output:\n" + tail(log));
        }
        assertEquals(0, p.exitValue(), "demo from the app jar failed; output:\n" + tail(log));
        try (Stream<Path> cached = Files.walk(engines)) {
            List<Path> files = cached.filter(Files::isRegularFile).collect(Collectors.toList());
            assertEquals(List.of(jniDir.resolve("0.36.0-libdjl_torch.so")), files,
                    "DJL extracted files at start-up instead of using the pre-placed JNI");
        }
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }
}
