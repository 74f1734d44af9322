package io.hicmae.zoo;

import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.Locale;
import org.apache.hadoop.conf.Configuration;

/**
 * The zoo's settings, read once from the Hadoop {@link Configuration} the zoo is opened with. Each key is a constant
 * with its {@code _DOC}; a bad value fails with "Invalid value V for configuration K: reason".
 */
public final class ZooConfig {
    public static final String COMMIT_MODE = "hicmae.zoo.commit.mode";
    public static final String COMMIT_MODE_DOC =
            "How versions become visible: auto (rename on file: and hdfs:, a commit marker on every other scheme),"
                    + " rename, or marker. rename is refused where the FileSystem's rename is not atomic.";

    public static final String CACHE_DIR = "hicmae.zoo.cache.dir";
    public static final String CACHE_DIR_DOC =
            "Local directory of pulled versions, one sub-directory per SHA-256 of a version's SHA256SUMS.";
    public static final String CACHE_DIR_DEFAULT = System.getProperty("user.home") + "/.cache/hicmae/zoo";

    public static final String STAGING_GRACE_MS = "hicmae.zoo.staging.grace.ms";
    public static final String STAGING_GRACE_MS_DOC =
            "Age after which gc treats an uncommitted staging directory, claim or version as a dead publisher's"
                    + " leftover. It must exceed the longest publish: gc deletes what is older.";
    // A day: uploading a large model to S3 can take hours, and a live publish must never look dead.
    public static final long STAGING_GRACE_MS_DEFAULT = Duration.ofDays(1).toMillis();

    public static final String VERSION_GRACE_MS = "hicmae.zoo.version.grace.ms";
    public static final String VERSION_GRACE_MS_DOC =
            "How long gc keeps a version after it stopped being the newest (latest) or an alias moved away from it,"
                    + " so a pull that resolved it just before finishes. It must exceed the longest pull.";
    // A day, as the staging grace: a pull of a large model from S3 over a slow link can take hours.
    public static final long VERSION_GRACE_MS_DEFAULT = Duration.ofDays(1).toMillis();

    public static final String LEASE_TTL_MS = "hicmae.zoo.lease.ttl.ms";
    public static final String LEASE_TTL_MS_DOC =
            "How long a run's lease holds without renewal (the holder renews every third of it). A job killed"
                    + " without releasing its lease blocks the run this long; keep it below the retry interval of"
                    + " whatever restarts a failed job (the k8s manifests retry after 120 s and 300 s).";
    // One minute: well under the operator's 120 s retry, and 20 s renewals survive a long GC pause or a slow store.
    public static final long LEASE_TTL_MS_DEFAULT = Duration.ofMinutes(1).toMillis();

    public static final String CHECKPOINTS_KEEP = "hicmae.zoo.checkpoints.keep";
    public static final String CHECKPOINTS_KEEP_DOC = "How many of a run's newest checkpoints a write keeps.";
    public static final int CHECKPOINTS_KEEP_DEFAULT = 3;

    private final CommitMode commitMode;
    private final Path cacheDir;
    private final Duration stagingGrace;
    private final Duration versionGrace;
    private final Duration leaseTtl;
    private final int checkpointsKeep;

    private ZooConfig(CommitMode commitMode, Path cacheDir, Duration stagingGrace, Duration versionGrace,
            Duration leaseTtl, int checkpointsKeep) {
        this.leaseTtl = leaseTtl;
        this.commitMode = commitMode;
        this.cacheDir = cacheDir;
        this.stagingGrace = stagingGrace;
        this.versionGrace = versionGrace;
        this.checkpointsKeep = checkpointsKeep;
    }

    /** Reads and validates every key for a zoo on {@code scheme}. */
    static ZooConfig from(Configuration conf, String scheme) {
        return new ZooConfig(
                commitMode(conf.getTrimmed(COMMIT_MODE, "auto"), scheme),
                Paths.get(conf.getTrimmed(CACHE_DIR, CACHE_DIR_DEFAULT)).toAbsolutePath().normalize(),
                Duration.ofMillis(atLeast(conf, STAGING_GRACE_MS, STAGING_GRACE_MS_DEFAULT, 0)),
                Duration.ofMillis(atLeast(conf, VERSION_GRACE_MS, VERSION_GRACE_MS_DEFAULT, 0)),
                Duration.ofMillis(atLeast(conf, LEASE_TTL_MS, LEASE_TTL_MS_DEFAULT, 1)),
                (int) atLeast(conf, CHECKPOINTS_KEEP, CHECKPOINTS_KEEP_DEFAULT, 1));
    }

    static boolean hasAtomicRename(String scheme) {
        return "file".equals(scheme) || "hdfs".equals(scheme);
    }

    private static CommitMode commitMode(String value, String scheme) {
        switch (value.toLowerCase(Locale.ROOT)) {
            case "auto":
                return hasAtomicRename(scheme) ? CommitMode.RENAME : CommitMode.MARKER;
            case "marker":
                return CommitMode.MARKER;
            case "rename":
                if (!hasAtomicRename(scheme)) {
                    throw invalid(COMMIT_MODE, value, "rename is not atomic on " + scheme + ": use marker or auto");
                }
                return CommitMode.RENAME;
            default:
                throw invalid(COMMIT_MODE, value, "must be one of auto, rename, marker");
        }
    }

    private static long atLeast(Configuration conf, String key, long defaultValue, long min) {
        String raw = conf.getTrimmed(key);
        if (raw == null) {
            return defaultValue;
        }
        long value;
        try {
            value = Long.parseLong(raw);
        } catch (NumberFormatException e) {
            throw invalid(key, raw, "must be a whole number");
        }
        if (value < min) {
            throw invalid(key, raw, "must be at least " + min);
        }
        return value;
    }

    static IllegalArgumentException invalid(String key, Object value, String reason) {
        return new IllegalArgumentException("Invalid value " + value + " for configuration " + key + ": " + reason);
    }

    public CommitMode commitMode() {
        return commitMode;
    }

    public Path cacheDir() {
        return cacheDir;
    }

    public Duration stagingGrace() {
        return stagingGrace;
    }

    public Duration versionGrace() {
        return versionGrace;
    }

    public Duration leaseTtl() {
        return leaseTtl;
    }

    public int checkpointsKeep() {
        return checkpointsKeep;
    }
}
