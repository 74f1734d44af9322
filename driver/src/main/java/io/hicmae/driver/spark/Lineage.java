package io.hicmae.driver.spark;

import io.hicmae.runtime.data.ClipSchema;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/**
 * What a published version records about where it came from, computed the same way by every job: the dataset's
 * qualified URI and digest, the code version, fresh run ids and job secrets, and the check that every rank ended
 * with the same parameters.
 */
public final class Lineage {

    private static final Logger LOG = LogManager.getLogger(Lineage.class);

    private Lineage() {}

    /** The dataset's fully qualified URI. */
    public static URI datasetUri(String data, Configuration hadoop) throws IOException {
        Path p = new Path(data);
        return p.getFileSystem(hadoop).makeQualified(p).toUri();
    }

    /**
     * SHA-256 of the dataset's {@code _dataset.json}; a dataset without one (written by other tools) is identified
     * by the digest of its data-file listing instead.
     */
    public static String datasetDigest(String data, List<String> files, Configuration hadoop) throws IOException {
        Path meta = new Path(data, ClipSchema.DATASET_JSON);
        FileSystem fs = meta.getFileSystem(hadoop);
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            if (fs.exists(meta)) {
                try (InputStream in = fs.open(meta)) {
                    md.update(in.readAllBytes());
                }
            } else {
                LOG.warn("{} has no {}; the version's dataset digest covers its file listing", data,
                        ClipSchema.DATASET_JSON);
                md.update(String.join("\n", files).getBytes(StandardCharsets.UTF_8));
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The build's version from the jar manifest. */
    public static String codeVersion() {
        String v = Lineage.class.getPackage().getImplementationVersion();
        return v == null ? "development build" : v;
    }

    /** A new run id: {@code <prefix>-<yyyyMMdd-HHmmss>-<6 hex>}. */
    public static String newRunId(String prefix) {
        String stamp = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss", Locale.ROOT));
        byte[] r = new byte[3];
        new SecureRandom().nextBytes(r);
        return prefix + "-" + stamp + "-" + HexFormat.of().formatHex(r);
    }

    /** A fresh 256-bit job secret: ring peers and the progress reporter prove it. */
    public static byte[] newSecret() {
        byte[] secret = new byte[32];
        new SecureRandom().nextBytes(secret);
        return secret;
    }

    /** Refuses to publish when ranks ended with different parameters. */
    public static <R> void checkRanksAgree(List<R> results, Function<R, Integer> rank, Function<R, String> digest) {
        String first = digest.apply(results.get(0));
        for (R r : results) {
            if (!digest.apply(r).equals(first)) {
                throw new IllegalStateException("rank " + rank.apply(r) + " ended with parameters " + digest.apply(r)
                        + " but rank " + rank.apply(results.get(0)) + " with " + first + ": the ranks diverged");
            }
        }
    }
}
