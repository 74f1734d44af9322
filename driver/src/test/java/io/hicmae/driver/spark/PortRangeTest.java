package io.hicmae.driver.spark;

import io.hicmae.runtime.allreduce.RingAllReduce;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PortRangeTest {

    @Test
    void parsesAnyOnePortOrARange() {
        assertEquals(PortRange.ANY, PortRange.parse("0"));
        assertEquals(new PortRange(40100, 40100), PortRange.parse("40100"));
        assertEquals(new PortRange(40100, 40199), PortRange.parse(" 40100-40199 "));
        assertEquals("40100-40199", PortRange.parse("40100-40199").toString());
        for (String bad : new String[] {"", "x", "40199-40100", "80", "40100-70000", "1-2-3", "-5"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PortRange.parse(bad), bad);
            assertTrue(e.getMessage().contains("port range"), e.getMessage());
        }
    }

    @Test
    void theRingListensOnTheGivenAddressOnlyAtTheFirstFreePortOfTheRange() throws IOException {
        int low;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            low = probe.getLocalPort(); // free a moment ago; a clash only moves the ring one port up
        }
        PortRange range = new PortRange(low, Math.min(65535, low + 3));
        try (ServerSocket taken = new ServerSocket(low, 1, InetAddress.getByName("127.0.0.1"));
                RingAllReduce ring = range.bind("127.0.0.1", RingAllReduce::bind)) {
            InetSocketAddress at = ring.localAddress();
            assertEquals("127.0.0.1", at.getAddress().getHostAddress(), "bound to the executor's address, not 0.0.0.0");
            assertTrue(at.getPort() > taken.getLocalPort() && at.getPort() <= range.high(), "port " + at.getPort());
        }
    }

    @Test
    void aRangeWithNoFreePortFailsNamingIt() throws IOException {
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
            int port = taken.getLocalPort();
            PortRange one = new PortRange(port, port);
            BindException e = assertThrows(BindException.class, () -> one.bind("127.0.0.1", RingAllReduce::bind));
            assertTrue(e.getMessage().contains(Integer.toString(port)), e.getMessage());
        }
    }
}
