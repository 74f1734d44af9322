package io.hicmae.zoo;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.io.TempDir;

/** The run area on the local FileSystem. */
class LocalRunAreaTest extends RunAreaContract {
    @TempDir Path dir;

    @Override
    URI newRoot() throws IOException {
        return dir.resolve("zoo").toUri();
    }

    @Override
    Configuration conf() {
        return new Configuration();
    }
}
