package io.hicmae.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;

class ZooConfigTest {
    @Test
    void choosesCommitModeByScheme() {
        Configuration conf = new Configuration(false);
        assertEquals(CommitMode.RENAME, ZooConfig.from(conf, "file").commitMode());
        assertEquals(CommitMode.RENAME, ZooConfig.from(conf, "hdfs").commitMode());
        assertEquals(CommitMode.MARKER, ZooConfig.from(conf, "s3a").commitMode());
        conf.set(ZooConfig.COMMIT_MODE, "marker");
        assertEquals(CommitMode.MARKER, ZooConfig.from(conf, "hdfs").commitMode());
        assertEquals(Duration.ofDays(1), ZooConfig.from(conf, "file").stagingGrace());
    }

    @Test
    void refusesRenameCommitsWhereRenameIsACopy() {
        Configuration conf = new Configuration(false);
        conf.set(ZooConfig.COMMIT_MODE, "rename");
        assertEquals("Invalid value rename for configuration hicmae.zoo.commit.mode: rename is not atomic on s3a:"
                + " use marker or auto", assertThrows(IllegalArgumentException.class,
                        () -> ZooConfig.from(conf, "s3a")).getMessage());
    }

    @Test
    void namesKeyAndValueOfBadSettings() {
        Configuration conf = new Configuration(false);
        conf.set(ZooConfig.CHECKPOINTS_KEEP, "0");
        assertEquals("Invalid value 0 for configuration hicmae.zoo.checkpoints.keep: must be at least 1",
                assertThrows(IllegalArgumentException.class, () -> ZooConfig.from(conf, "file")).getMessage());
        conf.unset(ZooConfig.CHECKPOINTS_KEEP);
        conf.set(ZooConfig.STAGING_GRACE_MS, "1h");
        assertEquals("Invalid value 1h for configuration hicmae.zoo.staging.grace.ms: must be a whole number",
                assertThrows(IllegalArgumentException.class, () -> ZooConfig.from(conf, "file")).getMessage());
        conf.unset(ZooConfig.STAGING_GRACE_MS);
        conf.set(ZooConfig.LEASE_TTL_MS, "0");
        assertEquals("Invalid value 0 for configuration hicmae.zoo.lease.ttl.ms: must be at least 1",
                assertThrows(IllegalArgumentException.class, () -> ZooConfig.from(conf, "file")).getMessage());
    }

    @Test
    void leaseAndVersionGraceDefaultsAreDocumented() {
        ZooConfig c = ZooConfig.from(new Configuration(false), "s3a");
        assertEquals(Duration.ofMinutes(1), c.leaseTtl(), "below the k8s operator's 120 s retry interval");
        assertEquals(Duration.ofDays(1), c.versionGrace());
    }
}
