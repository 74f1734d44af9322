package io.hicmae.it;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInfo;

import java.io.IOException;

/**
 * Base of the ITs that need a two-worker Spark cluster and an HDFS: both start once per test class (named after
 * it) and stop whatever happens, and no JVM of the cluster may survive.
 */
abstract class ClusterAndHdfs {

    static Hdfs hdfs;
    static SparkCluster cluster;

    @BeforeAll
    static void startClusterAndHdfs(TestInfo info) throws IOException {
        String name = info.getTestClass().orElseThrow().getSimpleName();
        hdfs = Hdfs.start(name + "-hdfs");
        cluster = SparkCluster.builder(name).start();
    }

    @AfterAll
    static void stopClusterAndHdfs() {
        try {
            SparkCluster.closeAndCheck(cluster);
        } finally {
            if (hdfs != null) {
                hdfs.close();
            }
            cluster = null;
            hdfs = null;
        }
    }
}
