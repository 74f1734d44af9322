package io.hicmae.it;

import com.google.gson.JsonParser;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;

/**
 * A Spark standalone cluster of separate JVMs on loopback: one Master and {@link #WORKERS} Workers (or as many as
 * {@link Builder#optWorkers} asks; a test may kill one and start another, {@link #killWorker}), each Worker
 * starting its own executor JVMs. Everything lives in {@code <runRoot>/<name>/}: {@code master.log},
 * {@code worker-N.log}, each Worker's work dir {@code worker-N/} (executor logs under {@code app-ID/EXEC/}) and the
 * cluster's own Spark home, whose {@code jars} links to the one Maven filled.
 *
 * <p>Every JVM of the cluster, executors and submitted drivers included, has that Spark home in its command line;
 * {@link #close()} kills what descends from the Master and Workers, then anything else so marked, and waits. A
 * shutdown hook does the same if a test run ends without {@code close()}.
 */
public final class SparkCluster implements AutoCloseable {
    static final int WORKERS = 2;
    /** One core per Worker: an application then gets exactly one executor on each Worker. */
    static final int WORKER_CORES = 1;
    static final String WORKER_MEMORY = "2g";
    /** 6-17 s on 2 idle cores; the machine is shared. */
    static final Duration START_TIMEOUT = Duration.ofMinutes(2);
    private static final String DAEMON_HEAP = "-Xmx512m";
    private static final String EXECUTOR_MAIN = "org.apache.spark.executor.CoarseGrainedExecutorBackend";
    private static final Pattern MASTER_URL = Pattern.compile("Starting Spark master at (spark://\\S+)");
    private static final Pattern MASTER_UI_PORT =
            Pattern.compile("Bound MasterWebUI to \\S+, and started at http://[^:/\\s]+:(\\d+)");

    private final String name;
    private final int workerCount;
    private final ItPaths paths;
    private final Path runDir;
    private final Path sparkHome;
    // Read by the shutdown hook's thread too.
    private final List<Process> workers = new CopyOnWriteArrayList<>();
    private final Thread shutdownHook;
    /** The RPC secret the Master, the Workers and every submitted application share (standalone authentication). */
    private final String rpcSecret = newSecret();
    private volatile Process master;
    /** Where the JVMs live when not all on loopback ({@link Builder#optHosts}). */
    private NetnsHosts hosts;
    private String masterUrl;
    private int uiPort;
    private Path workerConf;
    /** Indexes of the Workers killed by {@link #killWorker}. */
    private final java.util.Set<Integer> killed = new java.util.concurrent.ConcurrentSkipListSet<>();
    private boolean closed;

    /** One executor JVM: its pid, the index of the Worker that started it, its application and executor id. */
    public record Executor(long pid, int worker, String appId, String id) {}

    private SparkCluster(String name, int workerCount, ItPaths paths) {
        this.name = name;
        this.workerCount = workerCount;
        this.paths = paths;
        this.runDir = paths.runRoot().resolve(name);
        this.sparkHome = runDir.resolve("spark-home");
        this.shutdownHook = new Thread(this::killAll, "spark-cluster-" + name + "-cleanup");
    }

    /** A cluster whose files go to {@code <runRoot>/<name>/}; {@code name} is usually the test class's. */
    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** Starts and configures a {@link SparkCluster}. */
    public static final class Builder {
        private final String name;
        private boolean fakeGpu;
        private NetnsHosts hosts;
        private int workers = WORKERS;

        private Builder(String name) {
            if (!name.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("Invalid cluster name '" + name + "': must be a plain folder name");
            }
            this.name = name;
        }

        /** Each Worker advertises one GPU, address "0", through a discovery script; no device is needed. */
        public Builder optFakeGpu() {
            this.fakeGpu = true;
            return this;
        }

        /**
         * The Master in the root namespace at {@code hosts}' root address and Worker i (with its executors) in host
         * i's namespace at its address, instead of all on loopback; {@code hosts} needs one host per Worker.
         */
        public Builder optHosts(NetnsHosts hosts) {
            this.hosts = hosts;
            return this;
        }

        /** Starts {@code n} Workers instead of {@link #WORKERS}. */
        public Builder optWorkers(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("Invalid worker count " + n + ": must be at least 1");
            }
            this.workers = n;
            return this;
        }

        /** Starts the Master and Workers and waits until every Worker is registered. */
        public SparkCluster start() throws IOException {
            SparkCluster cluster = new SparkCluster(name, workers, ItPaths.fromSystemProperties());
            cluster.hosts = hosts;
            try {
                cluster.start(fakeGpu);
            } catch (IOException | RuntimeException e) {
                try {
                    cluster.close();
                } catch (RuntimeException closeError) {
                    e.addSuppressed(closeError);
                }
                throw e;
            }
            return cluster;
        }
    }

    private void start(boolean fakeGpu) throws IOException {
        List<Long> stale = survivors(runDir);
        if (!stale.isEmpty()) {
            throw new IllegalStateException("JVMs of an earlier run still use " + runDir + ": pids " + stale
                    + "; end them first (kill -9 PID)");
        }
        deleteRecursively(runDir);
        Files.createDirectories(sparkHome);
        Files.createSymbolicLink(sparkHome.resolve("jars"), paths.sparkHome().resolve("jars"));
        Path daemonConf = writeDaemonConf(false);
        workerConf = writeDaemonConf(fakeGpu);
        Runtime.getRuntime().addShutdownHook(shutdownHook);

        Path masterLog = runDir.resolve("master.log");
        master = SparkJvm.start(List.of(), sparkHome, null, "org.apache.spark.deploy.master.Master",
                List.of(DAEMON_HEAP, "-Dspark.master.rest.enabled=false"),
                List.of("--host", masterHost(), "--port", "0", "--webui-port", "0",
                        "--properties-file", daemonConf.toString()),
                Map.of("SPARK_LOCAL_IP", masterHost()), runDir, masterLog);
        masterUrl = awaitLogMatch(master, masterLog, MASTER_URL, "the Master's URL");
        uiPort = Integer.parseInt(awaitLogMatch(master, masterLog, MASTER_UI_PORT, "the Master's web UI port"));

        for (int i = 0; i < workerCount; i++) {
            launchWorker();
        }
        awaitWorkersRegistered();
    }

    private void launchWorker() throws IOException {
        int i = workers.size();
        Path workDir = Files.createDirectories(runDir.resolve("worker-" + i));
        String host = hosts == null ? "127.0.0.1" : hosts.address(i);
        List<String> prefix = hosts == null ? List.of() : hosts.command(i, List.of());
        workers.add(SparkJvm.start(prefix, sparkHome, null, "org.apache.spark.deploy.worker.Worker",
                List.of(DAEMON_HEAP),
                List.of("--host", host, "--port", "0", "--webui-port", "0",
                        "--cores", Integer.toString(WORKER_CORES), "--memory", WORKER_MEMORY,
                        "--work-dir", workDir.toString(), "--properties-file", workerConf.toString(), masterUrl),
                Map.of("SPARK_LOCAL_IP", host), runDir, runDir.resolve("worker-" + i + ".log")));
    }

    /**
     * Kills Worker {@code index} and its executor JVMs with SIGKILL, as a node that dies would (the Worker first, so
     * that it cannot start a replacement), and waits until they are gone. The Master then offers one Worker less.
     */
    public void killWorker(int index) {
        Process worker = workers.get(index);
        List<ProcessHandle> executors = worker.descendants().toList();
        killed.add(index);
        worker.destroyForcibly();
        executors.forEach(ProcessHandle::destroyForcibly);
        List<ProcessHandle> all = new ArrayList<>(executors);
        all.add(worker.toHandle());
        SparkJvm.awaitExit(all, "worker " + index + " and its executors");
    }

    /**
     * Starts one more Worker (the next index) and waits until the Master counts it alive with the others that were
     * not killed; returns its index.
     */
    public int startWorker() throws IOException {
        launchWorker();
        awaitWorkersRegistered();
        return workers.size() - 1;
    }

    /**
     * The Master's or a Worker's properties: RPC authentication with the cluster's secret and AES encryption, with
     * no SASL fallback, so that only applications that authenticate and encrypt (as the CLI turns on by itself) can
     * register; with {@code fakeGpu}, the Worker's GPU. Readable by the owner only: it holds the secret.
     */
    private Path writeDaemonConf(boolean fakeGpu) throws IOException {
        Path conf = runDir.resolve(fakeGpu ? "worker.properties" : "daemon.properties");
        StringBuilder props = new StringBuilder()
                .append("spark.authenticate=true\n")
                .append("spark.authenticate.secret=").append(rpcSecret).append('\n')
                .append("spark.network.crypto.enabled=true\n")
                .append("spark.network.crypto.saslFallback=false\n");
        if (fakeGpu) {
            Path script = runDir.resolve("gpu-discovery.sh");
            Files.writeString(script, "#!/bin/sh\necho '{\"name\":\"gpu\",\"addresses\":[\"0\"]}'\n");
            Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
            props.append("spark.worker.resource.gpu.amount=1\n")
                    .append("spark.worker.resource.gpu.discoveryScript=").append(script).append('\n');
        }
        Files.deleteIfExists(conf);
        Files.createFile(conf, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        return Files.writeString(conf, props);
    }

    private static String newSecret() {
        byte[] bytes = new byte[32];
        new java.security.SecureRandom().nextBytes(bytes);
        return java.util.HexFormat.of().formatHex(bytes);
    }

    private String awaitLogMatch(Process process, Path log, Pattern pattern, String what) {
        return Waits.until(what + " in " + log, START_TIMEOUT, () -> {
            Matcher m = pattern.matcher(Logs.completeLines(log));
            if (m.find()) {
                return Optional.of(m.group(1));
            }
            failIfExited(process, log);
            return Optional.empty();
        }, () -> Logs.tail(log));
    }

    private void awaitWorkersRegistered() {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://" + masterHost() + ":" + uiPort + "/json/"))
                .timeout(Duration.ofSeconds(5)).build();
        int expected = workers.size() - killed.size();
        Waits.until(expected + " workers registered with " + masterUrl, START_TIMEOUT, () -> {
            failIfExited(master, runDir.resolve("master.log"));
            for (int i = 0; i < workers.size(); i++) {
                if (!killed.contains(i)) {
                    failIfExited(workers.get(i), runDir.resolve("worker-" + i + ".log"));
                }
            }
            String json;
            try {
                json = http.send(request, HttpResponse.BodyHandlers.ofString()).body();
            } catch (java.net.http.HttpTimeoutException slow) {
                return Optional.empty(); // a loaded machine: the Master answers late; the deadline still bounds it
            }
            int alive = JsonParser.parseString(json).getAsJsonObject().get("aliveworkers").getAsInt();
            return alive == expected ? Optional.of(alive) : Optional.empty();
        }, this::daemonLogTails);
    }

    private static void failIfExited(Process process, Path log) {
        if (!process.isAlive()) {
            throw new IllegalStateException("the process logging to " + log + " exited with code " + process.exitValue());
        }
    }

    private String daemonLogTails() {
        return Stream.concat(Stream.of("master.log"), IntStream.range(0, workers.size()).mapToObj(i -> "worker-" + i + ".log"))
                .map(f -> Logs.tail(runDir.resolve(f)))
                .collect(Collectors.joining());
    }

    /** The address the Master (and a submitted driver) binds to: loopback, or the root's on the emulated hosts. */
    String masterHost() {
        return hosts == null ? "127.0.0.1" : hosts.rootAddress();
    }

    /** {@code spark://HOST:PORT}. */
    public String masterUrl() {
        return masterUrl;
    }

    /** The RPC secret every application submitted to this cluster must present. */
    String rpcSecret() {
        return rpcSecret;
    }

    /** The folder of this cluster's logs and work dirs. */
    public Path runDir() {
        return runDir;
    }

    /** The cluster's Spark home: SPARK_HOME of every JVM it starts, submitted drivers included. */
    Path sparkHome() {
        return sparkHome;
    }

    ItPaths paths() {
        return paths;
    }

    /** The Workers' pids, by Worker index. */
    public List<Long> workerPids() {
        return workers.stream().map(Process::pid).toList();
    }

    /** The live executor JVMs, found among each Worker's descendants; by Worker. */
    public List<Executor> executors() {
        List<Executor> executors = new ArrayList<>();
        for (int i = 0; i < workers.size(); i++) {
            int worker = i;
            workers.get(i).descendants()
                    .filter(p -> p.info().commandLine().orElse("").contains(EXECUTOR_MAIN))
                    .forEach(p -> {
                        List<String> args = List.of(p.info().arguments().orElse(new String[0]));
                        executors.add(new Executor(p.pid(), worker, argument(args, "--app-id"),
                                argument(args, "--executor-id")));
                    });
        }
        return executors;
    }

    /** Every executor's log ({@code worker-N/<app>/<executor>/stderr}) so far, of every application. */
    public List<Path> executorLogs() throws IOException {
        List<Path> logs = new ArrayList<>();
        for (int i = 0; i < workers.size(); i++) {
            try (Stream<Path> files = Files.walk(runDir.resolve("worker-" + i), 3)) {
                files.filter(p -> p.getFileName().toString().equals("stderr")).sorted().forEach(logs::add);
            }
        }
        return logs;
    }

    /** The tail of every executor's log, for assertion messages. */
    public String executorLogTails() {
        try {
            return executorLogs().stream().map(Logs::tail).collect(Collectors.joining());
        } catch (IOException e) {
            return "\n(executor logs unreadable: " + e + ")";
        }
    }

    private static String argument(List<String> args, String flag) {
        int at = args.indexOf(flag);
        return at >= 0 && at + 1 < args.size() ? args.get(at + 1) : "?";
    }

    /** Kills the executor JVM {@code pid} with SIGKILL, as {@code kill -9} would, and waits until it is gone. */
    public void killExecutor(long pid) {
        List<Executor> executors = executors();
        if (executors.stream().noneMatch(e -> e.pid() == pid)) {
            throw new IllegalArgumentException("No executor of " + name + " has pid " + pid + "; executors: " + executors);
        }
        ProcessHandle executor = ProcessHandle.of(pid).orElseThrow(
                () -> new IllegalStateException("Executor pid " + pid + " exited before it could be killed"));
        executor.destroyForcibly();
        SparkJvm.awaitExit(List.of(executor), "executor pid " + pid);
    }

    /**
     * Every IT's {@code @AfterAll}: closes {@code cluster} when it was started, then fails if any of its JVMs is left.
     */
    public static void closeAndCheck(SparkCluster cluster) {
        if (cluster == null) {
            return;
        }
        cluster.close();
        List<Long> left = survivors(cluster.runDir());
        if (!left.isEmpty()) {
            throw new AssertionError("JVMs of " + cluster.runDir() + " left behind: pids " + left);
        }
    }

    /** The pids of the live JVMs, this one excluded, that name the Spark home of the cluster in {@code runDir}. */
    public static List<Long> survivors(Path runDir) {
        return SparkJvm.withMarker(marker(runDir.resolve("spark-home"))).stream().map(ProcessHandle::pid).toList();
    }

    private static String marker(Path sparkHome) {
        return sparkHome.resolve("jars") + "/*";
    }

    /** Kills the Master, the Workers, their executors and every other JVM marked as this cluster's, and waits. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            SparkJvm.awaitExit(killAll(), "the JVMs of cluster " + name);
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException shuttingDown) {
                // The JVM is exiting and the hook runs: nothing to undo.
            }
        }
    }

    private List<ProcessHandle> killAll() {
        List<ProcessHandle> killed = new ArrayList<>();
        // Descendants first: a Worker killed before its executors would orphan them.
        workers.forEach(w -> killed.addAll(SparkJvm.killTree(w.toHandle())));
        if (master != null) {
            killed.addAll(SparkJvm.killTree(master.toHandle()));
        }
        // Executors a Worker started after the walk, and submitted drivers.
        SparkJvm.withMarker(marker(sparkHome)).forEach(p -> killed.addAll(SparkJvm.killTree(p)));
        return killed;
    }

    private static void deleteRecursively(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
