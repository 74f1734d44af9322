package io.hicmae.runtime.allreduce;

import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class AllReduceConfigTest {
    private static final String SECRET = "s3cr3t-value-nobody-may-see";
    private static final List<InetSocketAddress> PEERS = List.of(
            InetSocketAddress.createUnresolved("host-a", 7000), InetSocketAddress.createUnresolved("host-b", 7001),
            InetSocketAddress.createUnresolved("host-c", 7002));

    @Test
    void toStringNeverShowsTheSecret() {
        String s = config(0, 4 << 20, Duration.ofSeconds(5)).toString();
        assertFalse(s.contains(SECRET), s);
        assertTrue(s.contains("secret=<27 bytes>"), s);
    }

    @Test
    void callersCannotChangeTheSecret() {
        byte[] secret = SECRET.getBytes(StandardCharsets.UTF_8);
        AllReduceConfig c = AllReduceConfig.withDefaults(1, PEERS, secret, 7L);
        secret[0] = 'X';
        c.secret()[1] = 'Y';
        assertEquals(SECRET, new String(c.secret(), StandardCharsets.UTF_8));
    }

    @Test
    void rejectsInvalidValuesNamingTheKey() {
        assertEquals("Invalid value 3 for configuration rank: must be in [0, 3)",
                assertThrows(IllegalArgumentException.class, () -> config(3, 1024, Duration.ofSeconds(1))).getMessage());
        assertEquals("Invalid value 1022 for configuration chunk-bytes: must be a positive multiple of 4",
                assertThrows(IllegalArgumentException.class, () -> config(0, 1022, Duration.ofSeconds(1))).getMessage());
        assertEquals("Invalid value PT0S for configuration io-timeout: must be positive",
                assertThrows(IllegalArgumentException.class, () -> config(0, 1024, Duration.ZERO)).getMessage());
        assertEquals("Invalid value <3 bytes> for configuration secret: must be at least 16 bytes",
                assertThrows(IllegalArgumentException.class,
                        () -> AllReduceConfig.withDefaults(0, PEERS, new byte[3], 0L)).getMessage());
    }

    @Test
    void neighboursWrapAroundTheRing() {
        AllReduceConfig c = config(0, 1024, Duration.ofSeconds(1));
        assertEquals(2, c.leftRank());
        assertEquals(1, c.rightRank());
        assertEquals("rank 1 at host-b:7001", c.describePeer(1));
    }

    private static AllReduceConfig config(int rank, int chunkBytes, Duration io) {
        return new AllReduceConfig(rank, 3, PEERS, SECRET.getBytes(StandardCharsets.UTF_8), 7L, chunkBytes,
                64 << 20, Duration.ofSeconds(10), io, Clock.systemUTC());
    }
}
