package io.hicmae.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.driver.config.ConfigException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UserConfTest {

    @Test
    void sparkKeysGoToSparkAndSparkHadoopKeysAlsoToHadoopWithoutThePrefix() {
        UserConf c = UserConf.parse(List.of("spark.ui.enabled=true", "spark.hadoop.fs.s3a.endpoint=http://h:9000",
                "spark.ui.enabled=false", "spark.hadoop.x=a=b"));
        assertEquals(Map.of("spark.ui.enabled", "false", "spark.hadoop.fs.s3a.endpoint", "http://h:9000",
                "spark.hadoop.x", "a=b"), c.spark());
        assertEquals(Map.of("fs.s3a.endpoint", "http://h:9000", "x", "a=b"), c.hadoop());
    }

    @Test
    void otherKeysAreRefusedNamingTheKey() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> UserConf.parse(List.of("fs.s3a.endpoint=http://h:9000")));
        assertTrue(e.getMessage().contains("--conf fs.s3a.endpoint")
                && e.getMessage().contains("did you mean spark.hadoop.fs.s3a.endpoint"), e.getMessage());
        e = assertThrows(ConfigException.class, () -> UserConf.parse(List.of("spark.ui.enabled")));
        assertTrue(e.getMessage().contains("spark.ui.enabled") && e.getMessage().contains("KEY=VALUE"),
                e.getMessage());
        assertThrows(ConfigException.class, () -> UserConf.parse(List.of("spark.hadoop.=x")));
    }

    @Test
    void commandsWithoutSparkTakeOnlyTheHadoopPart() {
        assertEquals(Map.of("fs.s3a.endpoint", "e"),
                UserConf.parseHadoopOnly(List.of("spark.hadoop.fs.s3a.endpoint=e")).hadoop());
        ConfigException e = assertThrows(ConfigException.class,
                () -> UserConf.parseHadoopOnly(List.of("spark.ui.enabled=true")));
        assertTrue(e.getMessage().contains("--conf spark.ui.enabled") && e.getMessage().contains("starts no Spark"),
                e.getMessage());
    }
}
