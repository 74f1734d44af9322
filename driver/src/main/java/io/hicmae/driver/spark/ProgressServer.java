package io.hicmae.driver.spark;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.function.Consumer;

/**
 * The driver's end of live progress: rank 0 connects, proves it belongs to the job with a token derived from the
 * job secret, then sends one JSON line per step. Lines go to the consumer (the console printer). Unknown peers are
 * dropped; lines are bounded; every read has a timeout so the listener never hangs the driver.
 */
public final class ProgressServer implements AutoCloseable {

    private static final Logger LOG = LogManager.getLogger(ProgressServer.class);
    static final int MAX_LINE = 64 * 1024;

    private final ServerSocket server;
    private final byte[] token;
    private final Consumer<String> sink;
    private final Thread acceptor;
    private volatile boolean closed;

    public ProgressServer(String host, byte[] secret, Consumer<String> sink) throws IOException {
        this.server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        this.token = tokenOf(secret).getBytes(StandardCharsets.US_ASCII);
        this.sink = sink;
        this.acceptor = new Thread(this::acceptLoop, "hicmae-progress");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    public int port() {
        return server.getLocalPort();
    }

    /** The line a reporter sends first: hex SHA-256 of the secret and a fixed label (never the secret itself). */
    static String tokenOf(byte[] secret) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update("hicmae-progress:".getBytes(StandardCharsets.US_ASCII));
            md.update(secret);
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try (Socket s = server.accept()) {
                s.setSoTimeout(600_000);
                serve(s);
            } catch (SocketTimeoutException e) {
                LOG.debug("progress connection idle, dropped");
            } catch (IOException e) {
                if (!closed) {
                    LOG.debug("progress connection ended: {}", e.toString());
                }
            }
        }
    }

    private void serve(Socket s) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
        String first = readBounded(in);
        if (first == null || !MessageDigest.isEqual(first.getBytes(StandardCharsets.US_ASCII), token)) {
            LOG.warn("refused a progress connection from {} without the job's token", s.getRemoteSocketAddress());
            return;
        }
        String line;
        while ((line = readBounded(in)) != null) {
            sink.accept(line);
        }
    }

    private static String readBounded(BufferedReader in) throws IOException {
        StringBuilder b = new StringBuilder();
        int c;
        while ((c = in.read()) != -1) {
            if (c == '\n') {
                return b.toString();
            }
            if (b.length() >= MAX_LINE) {
                throw new IOException("progress line longer than " + MAX_LINE + " characters");
            }
            b.append((char) c);
        }
        return b.length() == 0 ? null : b.toString();
    }

    @Override
    public void close() throws IOException {
        closed = true;
        server.close();
    }
}
