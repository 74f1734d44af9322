package io.hicmae.it;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/**
 * A real HDFS in this JVM: a MiniDFSCluster with one NameNode and one DataNode, its storage in
 * {@code <runRoot>/<name>/}. Other JVMs of the test reach it at {@link #uri()}.
 */
public final class Hdfs implements AutoCloseable {
    private final MiniDFSCluster cluster;

    private Hdfs(MiniDFSCluster cluster) {
        this.cluster = cluster;
    }

    /** Starts the NameNode and DataNode and waits until the DataNode is registered. */
    public static Hdfs start(String name) throws IOException {
        Path base = ItPaths.fromSystemProperties().runRoot().resolve(name);
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.toString());
        // A closing file polls the NameNode from 400 ms by default; one local DataNode acknowledges far sooner.
        conf.setInt("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 10);
        MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf, base.toFile()).numDataNodes(1).build();
        try {
            cluster.waitActive();
        } catch (IOException | RuntimeException e) {
            cluster.shutdown(true);
            throw e;
        }
        return new Hdfs(cluster);
    }

    /** {@code hdfs://127.0.0.1:PORT/}. */
    public URI uri() {
        return URI.create("hdfs://127.0.0.1:" + cluster.getNameNodePort() + "/");
    }

    /** A client configuration for this HDFS. */
    public Configuration conf() {
        return cluster.getConfiguration(0);
    }

    /** Stops the DataNode and NameNode and deletes their storage. */
    @Override
    public void close() {
        cluster.shutdown(true);
    }
}
