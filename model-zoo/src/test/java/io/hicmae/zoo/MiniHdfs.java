package io.hicmae.zoo;

import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * A MiniDFSCluster with one DataNode under {@code target/}, for the HDFS variants of the zoo's contract tests: one
 * cluster per test class ({@code @RegisterExtension static final MiniHdfs HDFS = new MiniHdfs("minidfs-")}), a
 * fresh root per test ({@link #newRoot()}).
 */
final class MiniHdfs implements BeforeAllCallback, AfterAllCallback {
    private final String prefix;
    private MiniDFSCluster cluster;

    MiniHdfs(String prefix) {
        this.prefix = prefix;
    }

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        File base = new File("target/" + prefix + UUID.randomUUID()).getAbsoluteFile();
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getPath());
        // A closing file polls the NameNode from 400 ms by default; one local DataNode acknowledges far sooner.
        conf.setInt("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 10);
        cluster = new MiniDFSCluster.Builder(conf, base).numDataNodes(1).build();
        cluster.waitActive();
    }

    @Override
    public void afterAll(ExtensionContext context) {
        if (cluster != null) {
            cluster.shutdown(true);
        }
    }

    /** A root no other test uses, on the cluster. */
    URI newRoot() throws IOException {
        return URI.create(cluster.getFileSystem().getUri() + "/zoo-" + UUID.randomUUID());
    }

    /** The configuration that reaches the cluster. */
    Configuration conf() {
        return cluster.getConfiguration(0);
    }
}
