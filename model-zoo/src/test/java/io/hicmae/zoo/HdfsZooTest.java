package io.hicmae.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.time.Clock;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The zoo contract on a real HDFS: one MiniDFSCluster (one DataNode) for the whole class, a fresh root per test. */
class HdfsZooTest extends ZooContract {
    @RegisterExtension
    static final MiniHdfs HDFS = new MiniHdfs("minidfs-");

    @Override
    URI newRoot() throws IOException {
        return HDFS.newRoot();
    }

    @Override
    Configuration conf() {
        return HDFS.conf();
    }

    @Test
    void commitsByRenameOnHdfs() {
        assertEquals(CommitMode.RENAME, zoo.config().commitMode());
        assertEquals("hdfs", zoo.root().getScheme());
    }

    /** A plain HDFS rename onto an existing directory moves the source inside it; the store's rename refuses. */
    @Test
    void renameNeverMovesIntoAnExistingDirectory() throws IOException {
        try (Store store = Store.open(root, conf(), Clock.systemUTC(), FaultHook.NONE)) {
            FileSystem fs = store.fs;
            Path a = new Path(store.root, "a");
            Path b = new Path(store.root, "b");
            fs.create(new Path(a, "f")).close();
            fs.create(new Path(b, "g")).close();

            ZooException e = assertThrows(ZooException.class, () -> store.renameNoReplace(a, b));
            assertTrue(e.getMessage().contains(Store.uri(b)), e.getMessage());
            assertFalse(fs.exists(new Path(b, "a")));
            assertTrue(fs.exists(new Path(a, "f")));

            assertTrue(fs.rename(a, b), "the hazard this guards against");
            assertTrue(fs.exists(new Path(b, "a")));
        }
    }
}
