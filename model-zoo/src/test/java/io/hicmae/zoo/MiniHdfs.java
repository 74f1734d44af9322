package io.hicmae.zoo;

import java.io.File;
import java.io.IOException;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;

/** A MiniDFSCluster with one DataNode under {@code target/}, for the HDFS variants of the zoo's contract tests. */
final class MiniHdfs {
    private MiniHdfs() {}

    static MiniDFSCluster start(String prefix) throws IOException {
        File base = new File("target/" + prefix + UUID.randomUUID()).getAbsoluteFile();
        Configuration conf = new Configuration();
        conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, base.getPath());
        // A closing file polls the NameNode from 400 ms by default; one local DataNode acknowledges far sooner.
        conf.setInt("dfs.client.block.write.locateFollowingBlock.initial.delay.ms", 10);
        MiniDFSCluster cluster = new MiniDFSCluster.Builder(conf, base).numDataNodes(1).build();
        cluster.waitActive();
        return cluster;
    }
}
