package io.hicmae.driver.finetune;

import io.hicmae.zoo.VersionInfo;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

import java.io.IOException;
import java.net.URI;
import java.security.SecureRandom;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;

/**
 * The zoo's evaluations area: {@code <zoo>/_evaluations/<model>/<version>/<yyyyMMdd-HHmmss>-<hex>/}, one directory
 * per evaluation of a version, holding {@value #METRICS} and, for categories, {@value #CONFUSION}. A published
 * version's own files are never rewritten (their SHA256SUMS and commit marker stay valid); the area sits beside the
 * models under a name starting with {@code _}, which the zoo's listings and gc skip. Each evaluation is written into
 * a {@code .staging-} directory first and renamed into place, so a reader sees all its files or none.
 */
final class Evaluations {

    static final String AREA = "_evaluations";
    static final String METRICS = "metrics.json";
    static final String CONFUSION = "confusion-matrix.png";

    private Evaluations() {}

    /** Writes one evaluation of {@code version}; returns its directory. */
    static URI write(URI zooRoot, Configuration conf, VersionInfo version, Map<String, byte[]> files)
            throws IOException {
        Path parent = new Path(new Path(new Path(new Path(zooRoot), AREA), version.model()), version.version());
        byte[] r = new byte[3];
        new SecureRandom().nextBytes(r);
        String id = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT)) + "-"
                + HexFormat.of().formatHex(r);
        FileSystem fs = parent.getFileSystem(conf);
        Path staging = new Path(parent, ".staging-" + id);
        Path target = new Path(parent, id);
        fs.mkdirs(staging);
        try {
            for (Map.Entry<String, byte[]> f : files.entrySet()) {
                try (FSDataOutputStream out = fs.create(new Path(staging, f.getKey()), false)) {
                    out.write(f.getValue());
                }
            }
            if (!fs.rename(staging, target)) {
                throw new IOException("could not rename " + staging + " to " + target);
            }
        } finally {
            if (fs.exists(staging)) {
                fs.delete(staging, true);
            }
        }
        return fs.makeQualified(target).toUri();
    }
}
