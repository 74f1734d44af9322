package io.hicmae.driver.spark;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ProgressChannelTest {

    private static final byte[] SECRET = "0123456789abcdef0123456789abcdef".getBytes(StandardCharsets.US_ASCII);

    /** A 2 KB metrics line of step {@code step}. */
    private static String line(long step) {
        return "{\"step\":" + step + ",\"clips\":4,\"loss\":0.5,\"ms_data\":1.5,\"ms_checkpoint\":"
                + (step % 100 == 0 ? 2.0 : 0.0) + ",\"pad\":\"" + "x".repeat(2000) + "\"}";
    }

    private static void await(List<String> got, long step) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (got.isEmpty() || JsonParser.parseString(got.get(got.size() - 1)).getAsJsonObject()
                .get("step").getAsLong() != step) {
            assertTrue(System.nanoTime() < deadline, "the driver never got step " + step + "; got " + got.size());
            Thread.sleep(20);
        }
    }

    @Test
    void aSilentClientConnectingFirstNeitherBlocksRankZeroNorTheDriver() throws Exception {
        List<String> got = new CopyOnWriteArrayList<>();
        try (ProgressServer server = new ProgressServer("127.0.0.1", SECRET, got::add);
                Socket silent = new Socket()) {
            silent.connect(new InetSocketAddress("127.0.0.1", server.port()));
            silent.setReceiveBufferSize(4096); // and never reads or writes
            Thread.sleep(100);
            try (ProgressReporter reporter = new ProgressReporter("127.0.0.1", server.port(), SECRET)) {
                // 20 MB of lines, 5x what filled the old channel's socket buffers and stalled rank 0.
                assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                    for (long step = 1; step <= 10_000; step++) {
                        reporter.send(line(step));
                    }
                }, "send() blocked the training thread");
                await(got, 10_000);
            }
        }
        JsonObject last = JsonParser.parseString(got.get(got.size() - 1)).getAsJsonObject();
        // Cumulative values: whatever was dropped on the way, the last line holds every total.
        assertEquals(10_000, last.get("steps_total").getAsLong());
        assertEquals(40_000, last.get("clips_total").getAsLong());
        assertEquals(15_000.0, last.get("ms_data_total").getAsDouble(), 1e-6);
        assertEquals(10_000, last.get("last_checkpoint_step").getAsLong());
    }

    @Test
    void aDriverThatStopsReadingNeverBlocksSend() throws Exception {
        // A listener that answers nothing and reads nothing: the sender's connect and write deadlines apply, and
        // send() keeps returning at once while the queue drops the oldest lines.
        try (ServerSocket deaf = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
                ProgressReporter reporter = new ProgressReporter("127.0.0.1", deaf.getLocalPort(), SECRET)) {
            assertTimeoutPreemptively(Duration.ofSeconds(5), () -> {
                for (long step = 1; step <= 5_000; step++) {
                    reporter.send(line(step));
                }
            });
            assertTrue(reporter.dropped() > 0, "a full queue drops on the sender");
        }
    }

    @Test
    void aClientWithoutTheSecretIsRefusedUnheard() throws Exception {
        List<String> got = new CopyOnWriteArrayList<>();
        try (ProgressServer server = new ProgressServer("127.0.0.1", SECRET, got::add);
                Socket intruder = new Socket("127.0.0.1", server.port())) {
            intruder.setSoTimeout(15_000);
            InputStream in = intruder.getInputStream();
            String greeting = ProgressServer.readLine(in);
            assertTrue(greeting.startsWith(ProgressServer.GREETING), greeting);
            OutputStream out = intruder.getOutputStream();
            String wrong = ProgressServer.answer("not the job's secret".getBytes(StandardCharsets.US_ASCII),
                    greeting.substring(ProgressServer.GREETING.length()));
            out.write((wrong + "\n" + line(1) + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
            assertEquals(-1, in.read(), "the server closes a connection that does not prove the secret");
            // A replayed answer to another connection's challenge does not work either.
            try (ProgressReporter honest = new ProgressReporter("127.0.0.1", server.port(), SECRET)) {
                honest.send(line(7));
            }
            assertEquals(1, got.size(), "only the honest reporter's line arrived: " + got);
            assertEquals(7, JsonParser.parseString(got.get(0)).getAsJsonObject().get("step").getAsLong());
        }
    }

    @Test
    void aReporterWithTheWrongSecretDeliversNothing() throws Exception {
        List<String> got = new CopyOnWriteArrayList<>();
        try (ProgressServer server = new ProgressServer("127.0.0.1", SECRET, got::add)) {
            try (ProgressReporter wrong = new ProgressReporter("127.0.0.1", server.port(), new byte[32])) {
                wrong.send(line(1));
            }
            Thread.sleep(200);
            assertTrue(got.isEmpty(), got.toString());
        }
    }

    @Test
    void theListenerTakesTheFirstFreePortOfItsRange() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            int p = taken.getLocalPort();
            PortRange range = p < 65_535 ? new PortRange(p, p + 1) : new PortRange(p - 1, p);
            try (ProgressServer server = new ProgressServer("127.0.0.1", range, SECRET, l -> { })) {
                assertTrue(server.port() >= range.low() && server.port() <= range.high() && server.port() != p);
            }
            assertThrows(java.net.BindException.class,
                    () -> new ProgressServer("127.0.0.1", new PortRange(p, p), SECRET, l -> { }));
        }
    }
}
