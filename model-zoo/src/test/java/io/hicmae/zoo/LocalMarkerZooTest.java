package io.hicmae.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

/** The zoo contract on a local directory with the object-store commit: files in place, the marker written last. */
class LocalMarkerZooTest extends ZooContract {
    @Override
    URI newRoot() throws IOException {
        return Files.createDirectories(local.resolve("zoo")).toUri();
    }

    @Override
    Configuration conf() {
        Configuration conf = new Configuration();
        conf.set(ZooConfig.COMMIT_MODE, "marker");
        return conf;
    }

    @Test
    void versionWithoutMarkerIsInvisible() throws IOException {
        assertEquals(CommitMode.MARKER, zoo.config().commitMode());
        VersionInfo v = zoo.publish(Fixtures.request("m", "run-1"));
        java.nio.file.Path dir = local.resolve("zoo/m/v000001");
        assertTrue(Files.isRegularFile(dir.resolve("_COMMITTED")));
        assertFalse(Files.exists(local.resolve("zoo/m/.staging")), "marker mode writes in place");

        Files.delete(dir.resolve("_COMMITTED"));
        assertTrue(zoo.listVersions("m").isEmpty());
        assertTrue(zoo.listModels().isEmpty());
        assertEquals("v000001", v.version());
    }
}
