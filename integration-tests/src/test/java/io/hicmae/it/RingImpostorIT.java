package io.hicmae.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.it.jobs.RingJob;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A rank of the real ring all-reduce, in an executor, refuses a peer that presents the wrong secret: the impostor
 * speaks the ring's handshake as rank 1 would but with its own secret, gets nothing after the hello, the rank logs
 * the refusal without the secret, and the real ranks then join and average correctly.
 */
class RingImpostorIT {
    // The ring's handshake, version 2 (io.hicmae.runtime.allreduce.Handshake): HELLO = magic, nonceA[32];
    // AUTH = magic, identity, nonceC[32], HMAC-SHA256(magic|nonceA|identity|nonceC), where identity = rank int,
    // worldSize int, layoutHash long, runHash long, attempt int, frame version short (2), wire dtype byte, 0 byte.
    private static final int HELLO_MAGIC = 0x48434832;
    private static final int AUTH_MAGIC = 0x48434132;
    private static final int IDENTITY_BYTES = 32;
    private static final int NONCE_BYTES = 32;
    private static final Duration ADDRESS_TIMEOUT = Duration.ofMinutes(3);
    private static final Duration REFUSAL_TIMEOUT = Duration.ofSeconds(30);
    private static final Duration FINISH_TIMEOUT = Duration.ofMinutes(2);
    private static final SecureRandom RANDOM = new SecureRandom();

    private static SparkCluster cluster;

    @BeforeAll
    static void start() throws IOException {
        cluster = SparkCluster.builder("RingImpostorIT").start();
    }

    @AfterAll
    static void stop() {
        SparkCluster.closeAndCheck(cluster);
    }

    /** What the impostor saw: its own port, and every byte the rank sent after the impostor's AUTH. */
    private record Knock(int localPort, int bytesAfterAuth) {}

    @Test
    void aPeerWithTheWrongSecretIsRefusedAndTheRealRanksFinish() throws Exception {
        Path dir = Files.createDirectories(cluster.runDir().resolve("ring"));
        byte[] secret = randomBytes(32);
        Files.writeString(dir.resolve("secret"), HexFormat.of().formatHex(secret), StandardCharsets.UTF_8);

        try (Submission job = new SparkSubmitter(cluster).start("ring",
                Application.testJobWithHicmae(cluster.paths(), RingJob.class), Map.of(), List.of(dir.toString()))) {
            String address = Waits.until("rank 0's address in " + dir, ADDRESS_TIMEOUT, () -> {
                Path file = dir.resolve("rank-0.addr");
                return Files.exists(file) ? Optional.of(Files.readString(file).trim()) : Optional.empty();
            }, () -> Logs.tail(job.log()));
            int colon = address.lastIndexOf(':');
            InetSocketAddress rank0 = new InetSocketAddress(address.substring(0, colon),
                    Integer.parseInt(address.substring(colon + 1)));

            Knock knock = knock(rank0, randomBytes(32));
            assertEquals(0, knock.bytesAfterAuth(), "rank 0 answered an impostor");
            String refusal = "rank 0: refused the connection from /" + rank0.getAddress().getHostAddress() + ":"
                    + knock.localPort() + ": it did not prove the job secret";
            Waits.until("rank 0 to log: " + refusal, REFUSAL_TIMEOUT,
                    () -> Optional.ofNullable(executorLogs().contains(refusal) ? refusal : null),
                    cluster::executorLogTails);

            Files.createFile(dir.resolve("go"));
            Submission.Result r = job.awaitExit(FINISH_TIMEOUT);
            assertEquals(0, r.exitCode(), r.describe());
            assertEquals(List.of("RING result rank=0 min=1.5 max=1.5", "RING result rank=1 min=1.5 max=1.5"),
                    r.lines("RING result "), r.describe());
            assertTrue(executorLogs().contains("rank 0: ring of 2 ranks up"), "rank 0 never joined the ring");

            String logs = allLogs();
            for (String form : List.of(HexFormat.of().formatHex(secret), HexFormat.of().formatHex(secret)
                    .toUpperCase(Locale.ROOT), Base64.getEncoder().encodeToString(secret))) {
                assertFalse(logs.contains(form), "the job secret appears in a log of " + cluster.runDir());
            }
            System.out.printf("RingImpostorIT: impostor from port %d refused; job %d ms%n", knock.localPort(),
                    r.wall().toMillis());
        }
    }

    /** Connects as rank 1 with {@code wrongSecret}, and counts what rank 0 sends after the AUTH until it hangs up. */
    private static Knock knock(InetSocketAddress rank0, byte[] wrongSecret) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(rank0, 10_000);
            s.setSoTimeout((int) REFUSAL_TIMEOUT.toMillis());
            InputStream in = s.getInputStream();
            byte[] hello = new byte[4 + NONCE_BYTES];
            new DataInputStream(in).readFully(hello);
            assertEquals(HELLO_MAGIC, ByteBuffer.wrap(hello).order(ByteOrder.LITTLE_ENDIAN).getInt(0),
                    "rank 0 did not open with a hello");
            byte[] nonceA = Arrays.copyOfRange(hello, 4, hello.length);
            byte[] nonceC = randomBytes(NONCE_BYTES);
            ByteBuffer identity = le(IDENTITY_BYTES).putInt(1).putInt(2).putLong(42).putLong(0).putInt(0)
                    .putShort((short) 2).put((byte) 0).put((byte) 0);
            ByteBuffer signed = le(4 + NONCE_BYTES + IDENTITY_BYTES + NONCE_BYTES).putInt(AUTH_MAGIC).put(nonceA)
                    .put(identity.array()).put(nonceC);
            ByteBuffer auth = le(4 + IDENTITY_BYTES + NONCE_BYTES + 32).putInt(AUTH_MAGIC).put(identity.array())
                    .put(nonceC).put(hmac(wrongSecret, signed.array()));
            s.getOutputStream().write(auth.array());
            s.getOutputStream().flush();
            ByteArrayOutputStream after = new ByteArrayOutputStream();
            try {
                for (int b; (b = in.read()) >= 0; ) { // a read timeout fails the test: the rank must hang up
                    after.write(b);
                }
            } catch (SocketException reset) {
                // A reset also ends the connection; what arrived before it still counts.
            }
            return new Knock(s.getLocalPort(), after.size());
        }
    }

    private static ByteBuffer le(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static byte[] hmac(byte[] key, byte[] message) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            return mac.doFinal(message);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    private static String executorLogs() throws IOException {
        return Logs.readAll(cluster.executorLogs());
    }

    /** Every log of the cluster: Master, Workers, drivers, and each executor's stdout and stderr. */
    private static String allLogs() throws IOException {
        List<Path> logs = new ArrayList<>();
        try (Stream<Path> files = Files.walk(cluster.runDir())) {
            files.filter(p -> {
                String name = p.getFileName().toString();
                return name.endsWith(".log") || name.equals("stderr") || name.equals("stdout");
            }).forEach(logs::add);
        }
        return Logs.readAll(logs);
    }
}
