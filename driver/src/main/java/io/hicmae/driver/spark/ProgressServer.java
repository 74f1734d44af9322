package io.hicmae.driver.spark;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.function.Consumer;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The driver's end of live progress. Each connection gets a fresh random challenge and must answer it with
 * HMAC-SHA256 keyed by the job secret (as the ring's handshake) within {@value #AUTH_TIMEOUT_MS} ms, or it is closed
 * unheard; connections are served concurrently (each on its own thread, at most {@value #MAX_CONNECTIONS} at once), so
 * a silent or hostile client never holds up rank 0. Authenticated lines (bounded in length) go to the sink, one
 * at a time. The port comes from a {@link PortRange} so that a NetworkPolicy can name it.
 */
public final class ProgressServer implements AutoCloseable {

    private static final Logger LOG = LogManager.getLogger(ProgressServer.class);
    static final int MAX_LINE = 64 * 1024;
    static final int MAX_CONNECTIONS = 16;
    static final int AUTH_TIMEOUT_MS = 10_000;
    /** An authenticated connection quiet this long is dropped (rank 0 reconnects on its next line). */
    static final int IDLE_TIMEOUT_MS = 3_600_000;
    static final String GREETING = "HICMAE-PROGRESS-1 ";
    private static final String HMAC_LABEL = "hicmae-progress-v1:";

    private final ServerSocket server;
    private final byte[] secret;
    private final Consumer<String> sink;
    private final Semaphore slots = new Semaphore(MAX_CONNECTIONS);
    private final Set<Socket> live = ConcurrentHashMap.newKeySet();
    private final SecureRandom random = new SecureRandom();
    private volatile boolean closed;

    /** Binds on any free port (tests). */
    public ProgressServer(String host, byte[] secret, Consumer<String> sink) throws IOException {
        this(host, PortRange.ANY, secret, sink);
    }

    public ProgressServer(String host, PortRange ports, byte[] secret, Consumer<String> sink) throws IOException {
        this.server = ports.bind(host, address -> {
            ServerSocket s = new ServerSocket();
            try {
                s.bind(address);
                return s;
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        });
        this.secret = secret.clone();
        this.sink = sink;
        Thread acceptor = new Thread(this::acceptLoop, "hicmae-progress-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** The answer to a challenge: hex HMAC-SHA256 of a fixed label and the challenge, keyed by the job secret. */
    static String answer(byte[] secret, String challenge) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(secret, "HmacSHA256"));
            return HexFormat.of().formatHex(mac.doFinal((HMAC_LABEL + challenge).getBytes(StandardCharsets.US_ASCII)));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 unavailable", e);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket s;
            try {
                s = server.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("progress listener stopped: {}", e.toString());
                }
                return;
            }
            if (!slots.tryAcquire()) {
                LOG.warn("refused a progress connection from {}: {} connections open", s.getRemoteSocketAddress(),
                        MAX_CONNECTIONS);
                closeQuietly(s);
                continue;
            }
            live.add(s);
            Thread t = new Thread(() -> {
                try {
                    serve(s);
                } finally {
                    live.remove(s);
                    closeQuietly(s);
                    slots.release();
                }
            }, "hicmae-progress-" + s.getPort());
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(Socket s) {
        try {
            s.setSoTimeout(AUTH_TIMEOUT_MS);
            byte[] nonce = new byte[32];
            random.nextBytes(nonce);
            String challenge = HexFormat.of().formatHex(nonce);
            OutputStream out = s.getOutputStream();
            out.write((GREETING + challenge + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = new java.io.BufferedInputStream(s.getInputStream());
            String reply = readLine(in);
            byte[] expected = answer(secret, challenge).getBytes(StandardCharsets.US_ASCII);
            if (reply == null || !MessageDigest.isEqual(reply.getBytes(StandardCharsets.US_ASCII), expected)) {
                LOG.warn("refused a progress connection from {}: it did not prove the job secret",
                        s.getRemoteSocketAddress());
                return;
            }
            s.setSoTimeout(IDLE_TIMEOUT_MS);
            String line;
            while ((line = readLine(in)) != null) {
                synchronized (sink) {
                    sink.accept(line);
                }
            }
        } catch (SocketTimeoutException e) {
            LOG.info("progress connection from {} timed out, dropped", s.getRemoteSocketAddress());
        } catch (IOException | RuntimeException e) {
            if (!closed) {
                LOG.info("progress connection from {} ended: {}", s.getRemoteSocketAddress(), e.toString());
            }
        }
    }

    /** One line of at most {@value #MAX_LINE} bytes (UTF-8), without its newline; null at the end of the stream. */
    static String readLine(InputStream in) throws IOException {
        java.io.ByteArrayOutputStream b = new java.io.ByteArrayOutputStream();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                return b.toString(StandardCharsets.UTF_8);
            }
            if (b.size() >= MAX_LINE) {
                throw new IOException("progress line longer than " + MAX_LINE + " bytes");
            }
            b.write(c);
        }
        return b.size() == 0 ? null : b.toString(StandardCharsets.UTF_8);
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException e) {
            LOG.debug("closing a progress connection: {}", e.toString());
        }
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
        live.forEach(ProgressServer::closeQuietly);
    }
}
