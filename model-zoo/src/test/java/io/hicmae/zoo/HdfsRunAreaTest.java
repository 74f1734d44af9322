package io.hicmae.zoo;

import java.io.IOException;
import java.net.URI;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The run area on a real HDFS (a MiniDFSCluster with one DataNode). */
class HdfsRunAreaTest extends RunAreaContract {
    @RegisterExtension
    static final MiniHdfs HDFS = new MiniHdfs("minidfs-runs-");

    @Override
    URI newRoot() throws IOException {
        return HDFS.newRoot();
    }

    @Override
    Configuration conf() {
        return HDFS.conf();
    }
}
