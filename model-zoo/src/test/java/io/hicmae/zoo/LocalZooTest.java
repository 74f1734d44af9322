package io.hicmae.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/** The zoo contract on a local directory, committing by rename. */
class LocalZooTest extends ZooContract {
    @Override
    URI newRoot() throws IOException {
        return Files.createDirectories(local.resolve("zoo")).toUri();
    }

    @Override
    Configuration conf() {
        return new Configuration();
    }

    @Test
    void plainPathOpensLocalDirectoryWithRenameCommits() throws IOException {
        try (ModelZoo plain = ModelZoo.open(local.resolve("zoo").toString())) {
            assertEquals(root, plain.root());
            assertEquals(CommitMode.RENAME, plain.config().commitMode());
        }
        assertEquals(local.resolve("x").toUri(), ModelZoo.rootUri(local.resolve("a/../x").toString()));
    }

    @Test
    void writesNoChecksumSideFiles() throws IOException {
        VersionInfo v = zoo.publish(Fixtures.request("m", "run-1"));
        try (var files = Files.walk(local.resolve("zoo"))) {
            assertEquals(0, files.filter(p -> p.getFileName().toString().endsWith(".crc")).count());
        }
        assertEquals("v000001", v.version());
    }
}
