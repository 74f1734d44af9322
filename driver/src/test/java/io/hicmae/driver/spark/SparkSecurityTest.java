package io.hicmae.driver.spark;

import org.apache.spark.SparkConf;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SparkSecurityTest {

    private static SparkConf conf(String master) {
        return new SparkConf(false).setMaster(master);
    }

    @Test
    void localModeIsLeftAlone() {
        for (String master : new String[] {"local", "local[2]", "local[*]", "local[2,3]", "local-cluster[2,1,1024]"}) {
            SparkConf c = conf(master);
            SparkSecurity.apply(c, Map.of());
            assertFalse(c.contains("spark.authenticate"), master);
            assertFalse(c.contains("spark.network.crypto.enabled"), master);
        }
    }

    @Test
    void yarnAndKubernetesAuthenticateAndEncryptWithTheirGeneratedSecret() {
        for (String master : new String[] {"yarn", "k8s://https://kubernetes.default.svc:443"}) {
            SparkConf c = conf(master);
            SparkSecurity.apply(c, Map.of());
            assertEquals("true", c.get("spark.authenticate"), master);
            assertEquals("true", c.get("spark.network.crypto.enabled"), master);
            assertFalse(c.contains("spark.authenticate.secret"), master + ": the cluster manager generates it");
        }
    }

    @Test
    void standaloneTakesTheSharedSecretFromTheEnvironment() {
        SparkConf c = conf("spark://master:7077");
        SparkSecurity.apply(c, Map.of(SparkSecurity.SECRET_ENV, "s3cret\n"));
        assertEquals("true", c.get("spark.authenticate"));
        assertEquals("true", c.get("spark.network.crypto.enabled"));
        assertEquals("s3cret", c.get("spark.authenticate.secret"));
    }

    @Test
    void standaloneKeepsASecretGivenInTheConfiguration() {
        SparkConf c = conf("spark://master:7077").set("spark.authenticate.secret.file", "/etc/spark/secret");
        SparkSecurity.apply(c, Map.of(SparkSecurity.SECRET_ENV, "ignored"));
        assertFalse(c.contains("spark.authenticate.secret"));
        assertEquals("true", c.get("spark.authenticate"));
    }

    @Test
    void standaloneWithoutASecretFailsSayingHowToGiveOne() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> SparkSecurity.apply(conf("spark://master:7077"), Map.of()));
        assertTrue(e.getMessage().contains(SparkSecurity.SECRET_ENV), e.getMessage());
        assertTrue(e.getMessage().contains("spark.authenticate=false"), e.getMessage());
        assertTrue(e.getMessage().contains("spark://master:7077"), e.getMessage());
    }

    @Test
    void theUsersExplicitChoicesWin() {
        SparkConf open = conf("spark://master:7077").set("spark.authenticate", "false");
        SparkSecurity.apply(open, Map.of());
        assertEquals("false", open.get("spark.authenticate"));
        assertFalse(open.contains("spark.network.crypto.enabled"));

        SparkConf saslOnly = conf("yarn").set("spark.network.crypto.enabled", "false");
        SparkSecurity.apply(saslOnly, Map.of());
        assertEquals("true", saslOnly.get("spark.authenticate"));
        assertEquals("false", saslOnly.get("spark.network.crypto.enabled"));
    }
}
