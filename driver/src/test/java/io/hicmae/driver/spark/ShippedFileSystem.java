package io.hicmae.driver.spark;

import org.apache.hadoop.fs.RawLocalFileSystem;

import java.net.URI;

/**
 * A local directory under the scheme {@code shipped:}, known to Hadoop only through the setting
 * {@code fs.shipped.impl}: a job that opens a {@code shipped:} path where the driver's settings were dropped fails
 * with "No FileSystem for scheme".
 */
public final class ShippedFileSystem extends RawLocalFileSystem {

    public static final String SCHEME = "shipped";
    /** The settings that make the scheme known, as {@code --conf} gives them; uncached, so each open reads them. */
    public static final java.util.List<String> CONF = java.util.List.of(
            "spark.hadoop.fs." + SCHEME + ".impl=" + ShippedFileSystem.class.getName(),
            "spark.hadoop.fs." + SCHEME + ".impl.disable.cache=true");

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public URI getUri() {
        return URI.create(SCHEME + ":///");
    }

    /** The {@code shipped:} URI of a local path. */
    public static String uri(java.nio.file.Path p) {
        return SCHEME + "://" + p.toAbsolutePath().toUri().getPath();
    }
}
