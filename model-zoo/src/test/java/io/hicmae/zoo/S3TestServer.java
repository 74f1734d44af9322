package io.hicmae.zoo;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.hadoop.conf.Configuration;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.MinIOContainer;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A real S3 protocol server for tests, so that no S3 test skips: MinIO through Testcontainers where a Docker engine
 * runs, else Adobe S3Mock (its {@code exec} jar, path in the system property {@code hicmae.s3mock.jar}) started with
 * {@code java -jar} on ports the OS picks, read back from its log. Both refuse a second {@code If-None-Match: *} PUT
 * with 412, as S3 does. Bound to 127.0.0.1; {@link #close()} (or the JVM's exit, for {@link #shared()}) stops it and
 * deletes its files.
 */
public final class S3TestServer implements AutoCloseable {

    /** The system property naming S3Mock's exec jar (set by the build). */
    public static final String JAR_PROPERTY = "hicmae.s3mock.jar";
    /** Forces S3Mock even where Docker runs (the value "s3mock"). */
    public static final String KIND_PROPERTY = "hicmae.s3.server";
    private static final long START_SECONDS = 180;
    private static final Pattern HTTP_PORT = Pattern.compile("Tomcat started on ports? .*?(\\d+) \\(http\\)");
    private static S3TestServer shared;

    private final String kind;
    private final String endpoint;
    private final String accessKey;
    private final String secretKey;
    private final Process process;
    private final Path dir;
    private final MinIOContainer minio;

    private S3TestServer(String kind, String endpoint, String accessKey, String secretKey, Process process, Path dir,
            MinIOContainer minio) {
        this.kind = kind;
        this.endpoint = endpoint;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
        this.process = process;
        this.dir = dir;
        this.minio = minio;
    }

    /** One server for the whole test JVM, started on first use and stopped when the JVM exits. */
    public static synchronized S3TestServer shared() throws IOException {
        if (shared == null) {
            S3TestServer s = start();
            Runtime.getRuntime().addShutdownHook(new Thread(s::close, "s3-test-server-stop"));
            shared = s;
        }
        return shared;
    }

    /** A new server: MinIO where Docker runs (unless {@code -Dhicmae.s3.server=s3mock}), else S3Mock. */
    public static S3TestServer start() throws IOException {
        if (!"s3mock".equals(System.getProperty(KIND_PROPERTY)) && dockerRuns()) {
            MinIOContainer c = new MinIOContainer("minio/minio:RELEASE.2025-04-22T22-12-26Z");
            c.start();
            return new S3TestServer("MinIO", c.getS3URL(), c.getUserName(), c.getPassword(), null, null, c);
        }
        return startS3Mock();
    }

    private static boolean dockerRuns() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** S3Mock in its own JVM; fails with its log's tail if it is not serving within the deadline. */
    public static S3TestServer startS3Mock() throws IOException {
        String jar = System.getProperty(JAR_PROPERTY);
        if (jar == null || !Files.isRegularFile(Path.of(jar))) {
            throw new IllegalStateException("S3Mock's exec jar is not at " + JAR_PROPERTY + "=" + jar
                    + " (the build copies com.adobe.testing:s3mock:exec there)");
        }
        Path dir = Files.createTempDirectory("s3mock-");
        Path log = dir.resolve("s3mock.log");
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Djava.net.preferIPv4Stack=true",
                "-jar", jar,
                "--server.address=127.0.0.1", "--server.port=0", "--com.adobe.testing.s3mock.http-port=0",
                "--com.adobe.testing.s3mock.store.root=" + dir.resolve("store"),
                "--com.adobe.testing.s3mock.store.retain-files-on-exit=false",
                "--spring.main.banner-mode=off"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_SECONDS);
        try {
            while (true) {
                String text = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
                Matcher m = HTTP_PORT.matcher(text);
                if (m.find() && text.contains("Started S3MockApplication")) {
                    String endpoint = "http://127.0.0.1:" + m.group(1);
                    return new S3TestServer("S3Mock", endpoint, "s3mock-key", "s3mock-secret", p, dir, null);
                }
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("S3Mock " + (p.isAlive() ? "did not start within "
                            + START_SECONDS + " s" : "exited with " + p.exitValue()) + "; its log ends:\n"
                            + tail(text, 3000));
                }
                Thread.sleep(200);
            }
        } catch (IOException | RuntimeException | InterruptedException e) {
            stop(p);
            deleteTree(dir);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw e instanceof IOException io ? io : new IOException(e.getMessage(), e);
        }
    }

    /** "MinIO" or "S3Mock". */
    public String kind() {
        return kind;
    }

    /** The server's {@code http://127.0.0.1:PORT} URL. */
    public String endpoint() {
        return endpoint;
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    /** An SDK client of this server (path-style, as both servers need); the caller closes it. */
    public S3Client client() {
        return S3Client.builder()
                .endpointOverride(URI.create(endpoint))
                .region(Region.US_EAST_1)
                .forcePathStyle(true)
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey)))
                .build();
    }

    /** Creates a bucket unless it exists. */
    public void createBucket(String bucket) {
        try (S3Client s3 = client()) {
            s3.createBucket(b -> b.bucket(bucket));
        } catch (software.amazon.awssdk.services.s3.model.BucketAlreadyOwnedByYouException
                | software.amazon.awssdk.services.s3.model.BucketAlreadyExistsException e) {
            // made by an earlier test of this JVM
        }
    }

    /** The S3A settings for this server, without credentials (for tests that give them through the AWS chain). */
    public Map<String, String> s3aEndpointSettings() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("fs.s3a.endpoint", endpoint);
        m.put("fs.s3a.endpoint.region", "us-east-1");
        m.put("fs.s3a.path.style.access", "true");
        m.put("fs.s3a.connection.ssl.enabled", "false");
        return m;
    }

    /** The S3A settings for this server, credentials included. */
    public Map<String, String> s3aSettings() {
        Map<String, String> m = s3aEndpointSettings();
        m.put("fs.s3a.aws.credentials.provider", "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider");
        m.put("fs.s3a.access.key", accessKey);
        m.put("fs.s3a.secret.key", secretKey);
        return m;
    }

    /** Writes {@code settings} as {@code dir/core-site.xml}, a HADOOP_CONF_DIR's client file; returns {@code dir}. */
    public static Path writeCoreSite(Path dir, Map<String, String> settings) throws IOException {
        StringBuilder xml = new StringBuilder("<?xml version=\"1.0\"?>\n<configuration>\n");
        settings.forEach((k, v) -> xml.append("  <property><name>").append(k).append("</name><value>").append(v)
                .append("</value></property>\n"));
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("core-site.xml"), xml.append("</configuration>\n").toString());
        return dir;
    }

    /** A Hadoop configuration holding {@link #s3aSettings()}. */
    public Configuration hadoopConf() {
        Configuration conf = new Configuration();
        s3aSettings().forEach(conf::set);
        return conf;
    }

    @Override
    public synchronized void close() {
        if (minio != null) {
            minio.stop();
        }
        if (process != null) {
            stop(process);
            deleteTree(dir);
        }
    }

    private static void stop(Process p) {
        p.destroy();
        try {
            if (!p.waitFor(15, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor(15, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static void deleteTree(Path dir) {
        if (dir == null) {
            return;
        }
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(f -> f.toFile().delete());
        } catch (IOException ignored) {
            // best effort: a temp directory
        }
    }

    private static String tail(String s, int n) {
        return s.length() <= n ? s : s.substring(s.length() - n);
    }
}
