package io.hicmae.it;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Submits applications to a {@link SparkCluster} exactly as {@code spark-submit --deploy-mode client} would: a JVM
 * running {@code org.apache.spark.deploy.SparkSubmit} on the cluster's Spark home, which then becomes the driver.
 * Each submission's output goes to {@code <runDir>/submit-<name>.log}.
 *
 * <p>Every submission binds the driver to the Master's address (127.0.0.1 unless on emulated hosts), turns off the
 * driver's web UI (clusters of several test runs
 * may share the machine), runs libtorch offline from Maven Central on the driver and the executors, and gives each
 * executor {@link SparkCluster#WORKER_CORES} OpenMP threads, one per core it was given. The cluster requires RPC
 * authentication and encryption: the hicmae CLI gets only the cluster's secret (HICMAE_SPARK_AUTH_SECRET) and must
 * turn both on itself; other applications get them set here.
 */
public final class SparkSubmitter {
    private static final String HICMAE_CLI = "io.hicmae.driver.HicmaeCli";
    private final SparkCluster cluster;
    private final Path hadoopConfDir;

    public SparkSubmitter(SparkCluster cluster) {
        this(cluster, null);
    }

    private SparkSubmitter(SparkCluster cluster, Path hadoopConfDir) {
        this.cluster = cluster;
        this.hadoopConfDir = hadoopConfDir;
    }

    /**
     * A submitter whose drivers read Hadoop's client configuration ({@code core-site.xml}) from {@code dir}, as
     * {@code spark-submit} does with HADOOP_CONF_DIR set: a {@code new Configuration()} in the driver sees it.
     */
    public SparkSubmitter withHadoopConfDir(Path dir) {
        return new SparkSubmitter(cluster, dir);
    }

    /**
     * Starts {@code app} with {@code args}; {@code conf} adds to or overrides the defaults (class comment).
     *
     * @param name names the log file, {@code submit-<name>.log}; must not have been used on this cluster
     */
    public Submission start(String name, Application app, Map<String, String> conf, List<String> args)
            throws IOException {
        Path log = cluster.runDir().resolve("submit-" + name + ".log");
        if (Files.exists(log)) {
            throw new IllegalArgumentException("Invalid submission name '" + name + "': " + log + " exists already");
        }
        String pytorch = System.getenv("PYTORCH_VERSION");
        if (pytorch == null) {
            throw new IllegalStateException("Missing environment variable PYTORCH_VERSION: failsafe sets it (root pom)");
        }
        Map<String, String> all = new LinkedHashMap<>();
        all.put("spark.driver.host", cluster.masterHost());
        all.put("spark.driver.bindAddress", cluster.masterHost());
        all.put("spark.ui.enabled", "false");
        all.put("spark.executorEnv.PYTORCH_VERSION", pytorch);
        all.put("spark.executorEnv.OMP_NUM_THREADS", Integer.toString(SparkCluster.WORKER_CORES));
        all.put("spark.executor.extraJavaOptions", "-Dai.djl.offline=true");
        Map<String, String> env = new LinkedHashMap<>(Map.of("PYTORCH_VERSION", pytorch,
                "SPARK_LOCAL_IP", cluster.masterHost()));
        if (app.mainClass().equals(HICMAE_CLI)) {
            // The CLI turns on authentication and encryption itself; it is only given the cluster's secret.
            env.put("HICMAE_SPARK_AUTH_SECRET", cluster.rpcSecret());
        } else {
            all.put("spark.authenticate", "true");
            all.put("spark.network.crypto.enabled", "true");
            all.put("spark.authenticate.secret", cluster.rpcSecret());
        }
        all.putAll(conf);

        List<String> submitArgs = new ArrayList<>(List.of("--master", cluster.masterUrl(), "--deploy-mode", "client",
                "--name", name, "--class", app.mainClass()));
        all.forEach((k, v) -> submitArgs.addAll(List.of("--conf", k + "=" + v)));
        if (!app.jars().isEmpty()) {
            submitArgs.add("--jars");
            submitArgs.add(app.jars().stream().map(Path::toString).collect(Collectors.joining(",")));
        }
        submitArgs.add(app.jar().toString());
        submitArgs.addAll(args);
        Process process = SparkJvm.start(cluster.sparkHome(), hadoopConfDir, "org.apache.spark.deploy.SparkSubmit",
                List.of("-Dai.djl.offline=true"), submitArgs, env,
                cluster.runDir(), log);
        return new Submission(name, process, log);
    }

    /** {@link #start} and {@link Submission#awaitExit}: the driver is killed if it outlives {@code timeout}. */
    public Submission.Result run(String name, Application app, Map<String, String> conf, List<String> args,
            Duration timeout) throws IOException {
        try (Submission submission = start(name, app, conf, args)) {
            return submission.awaitExit(timeout);
        }
    }
}
