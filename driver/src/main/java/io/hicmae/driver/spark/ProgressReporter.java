package io.hicmae.driver.spark;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;

/**
 * Rank 0's end of live progress: sends one JSON line per step to the driver. Progress is best-effort: if the driver
 * cannot be reached, training goes on and the reporter goes quiet (the metrics in the checkpoints stay complete).
 */
public final class ProgressReporter implements AutoCloseable {

    private static final Logger LOG = LogManager.getLogger(ProgressReporter.class);

    private Socket socket;
    private OutputStream out;

    public ProgressReporter(String host, int port, byte[] secret) {
        if (host == null) {
            return;
        }
        try {
            socket = new Socket();
            socket.connect(new InetSocketAddress(host, port), 10_000);
            socket.setSoTimeout(10_000);
            out = socket.getOutputStream();
            send(ProgressServer.tokenOf(secret));
        } catch (IOException e) {
            LOG.warn("progress to the driver at {}:{} is off: {}", host, port, e.toString());
            closeQuietly();
        }
    }

    public void send(String line) {
        if (out == null) {
            return;
        }
        try {
            out.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
        } catch (IOException e) {
            LOG.warn("progress to the driver stopped: {}", e.toString());
            closeQuietly();
        }
    }

    private void closeQuietly() {
        out = null;
        if (socket != null) {
            try {
                socket.close();
            } catch (IOException e) {
                LOG.debug("closing the progress socket: {}", e.toString());
            }
        }
    }

    @Override
    public void close() {
        closeQuietly();
    }
}
