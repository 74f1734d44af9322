package io.hicmae.driver.spark;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.SparkConf;

import java.util.Map;

/**
 * Closes a cluster job's network: Spark RPC authentication ({@code spark.authenticate}) and AES encryption
 * ({@code spark.network.crypto.enabled}) for every job the CLI starts on a cluster, so that the job secret the ranks'
 * ring is keyed with, carried in the task closures, never crosses the network in the clear. Local mode runs in one
 * JVM and is left alone.
 *
 * <p>Where the secret comes from depends on the cluster manager: YARN and Kubernetes generate one per application
 * (on Kubernetes the manifests mount it from a Secret through {@code spark.authenticate.secret.file}); a standalone
 * cluster shares one secret among its Master, Workers and applications, so the job must be given it:
 * {@code spark.authenticate.secret}, {@code spark.authenticate.secret.file}, or the environment variable
 * {@value #SECRET_ENV}. A standalone job without one fails before it starts, saying so; a user who really wants an
 * open network says {@code --conf spark.authenticate=false} and is warned.
 */
public final class SparkSecurity {

    /** The environment variable holding a standalone cluster's shared RPC secret. */
    public static final String SECRET_ENV = "HICMAE_SPARK_AUTH_SECRET";
    /** Spark's own variable for the same secret (what a Worker gives its executors). */
    static final String SPARK_SECRET_ENV = "_SPARK_AUTH_SECRET";

    private static final Logger LOG = LogManager.getLogger(SparkSecurity.class);

    private SparkSecurity() {}

    /**
     * Turns authentication and encryption on in {@code conf} unless its master is local or the user turned
     * authentication off; a user's explicit settings win.
     *
     * @param env the process environment (a parameter so that tests can give their own)
     * @throws IllegalStateException on a standalone master without a secret
     */
    public static void apply(SparkConf conf, Map<String, String> env) {
        String master = conf.get("spark.master", "local");
        if (isLocal(master)) {
            return;
        }
        if (!conf.getBoolean("spark.authenticate", true)) {
            LOG.warn("spark.authenticate=false: Spark RPC between the driver and the executors of {} is neither "
                    + "authenticated nor encrypted, and the job secret travels in the clear", master);
            return;
        }
        conf.set("spark.authenticate", "true");
        conf.setIfMissing("spark.network.crypto.enabled", "true");
        if (generatesSecret(master) || hasSecret(conf)) {
            return;
        }
        String secret = env.get(SECRET_ENV);
        if (secret == null || secret.isBlank()) {
            secret = env.get(SPARK_SECRET_ENV);
        }
        if (secret == null || secret.isBlank()) {
            throw new IllegalStateException("Spark RPC authentication is on for " + master
                    + " but no secret was given: a standalone cluster shares one secret among its Master, Workers and "
                    + "applications. Set the environment variable " + SECRET_ENV + " (or --conf "
                    + "spark.authenticate.secret.file=FILE) to the secret the cluster's daemons were started with, or "
                    + "--conf spark.authenticate=false to run with an open network (not recommended)");
        }
        conf.set("spark.authenticate.secret", secret.trim());
    }

    /** local, local[N], local[*], local[N,F] and local-cluster[...] run in processes of this machine. */
    static boolean isLocal(String master) {
        return master.equals("local") || master.startsWith("local[") || master.startsWith("local-cluster[");
    }

    /** YARN and Kubernetes generate a secret per application when none is set. */
    static boolean generatesSecret(String master) {
        return master.equals("yarn") || master.startsWith("k8s://");
    }

    private static boolean hasSecret(SparkConf conf) {
        return conf.contains("spark.authenticate.secret") || conf.contains("spark.authenticate.secret.file")
                || conf.contains("spark.authenticate.secret.driver.file");
    }
}
