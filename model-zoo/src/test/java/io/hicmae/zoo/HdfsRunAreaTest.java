package io.hicmae.zoo;

import java.io.IOException;
import java.net.URI;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The run area on a real HDFS (a MiniDFSCluster with one DataNode). */
class HdfsRunAreaTest extends RunAreaContract {
    private static MiniDFSCluster cluster;

    @BeforeAll
    static void startCluster() throws IOException {
        cluster = MiniHdfs.start("minidfs-runs-");
    }

    @AfterAll
    static void stopCluster() {
        if (cluster != null) {
            cluster.shutdown(true);
        }
    }

    @Override
    URI newRoot() throws IOException {
        return URI.create(cluster.getFileSystem().getUri() + "/zoo-" + UUID.randomUUID());
    }

    @Override
    Configuration conf() {
        return cluster.getConfiguration(0);
    }
}
