package io.hicmae.driver.spark;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Rank 0's end of live progress. {@link #send} never blocks the training step: it adds the cumulative totals
 * ({@link ProgressTotals}) and puts the line in a bounded queue, dropping the oldest line when the queue is full.
 * A daemon thread connects to the driver, answers its challenge with the job secret's HMAC, and writes the lines,
 * each write with a deadline; on any failure it drops the connection and tries again after a back-off. Because every
 * line carries the totals, a dropped line loses nothing but an intermediate gauge value. The metrics in the
 * checkpoints stay complete whatever happens here.
 */
public final class ProgressReporter implements AutoCloseable {

    private static final Logger LOG = LogManager.getLogger(ProgressReporter.class);
    static final int QUEUE = 256;
    static final long CONNECT_TIMEOUT_MS = 10_000;
    static final long WRITE_DEADLINE_MS = 10_000;
    static final long RETRY_MIN_MS = 1_000;
    static final long RETRY_MAX_MS = 60_000;
    /** How long {@link #close} lets the sender deliver what is queued (the final step's line). */
    static final long DRAIN_MS = 3_000;

    private final String host;
    private final int port;
    private final byte[] secret;
    private final ArrayBlockingQueue<String> queue = new ArrayBlockingQueue<>(QUEUE);
    private final AtomicLong dropped = new AtomicLong();
    private final ProgressTotals totals = new ProgressTotals(System.nanoTime());
    private final Thread sender;
    private volatile boolean closed;
    private SocketChannel channel;
    private Selector selector;

    /** A reporter to the driver's listener; with a null host (ranks other than 0) it does nothing. */
    public ProgressReporter(String host, int port, byte[] secret) {
        this.host = host;
        this.port = port;
        this.secret = secret == null ? new byte[0] : secret.clone();
        if (host == null) {
            sender = null;
            return;
        }
        sender = new Thread(this::sendLoop, "hicmae-progress-sender");
        sender.setDaemon(true);
        sender.start();
    }

    /** Queues one metrics line; returns at once. When the queue is full the oldest queued line is dropped. */
    public void send(String line) {
        if (sender == null || closed) {
            return;
        }
        String withTotals = totals.add(line, System.nanoTime(), dropped.get());
        while (!queue.offer(withTotals)) {
            if (queue.poll() != null) {
                dropped.incrementAndGet();
            }
        }
    }

    /** Lines dropped so far because the driver did not keep up. */
    public long dropped() {
        return dropped.get();
    }

    private void sendLoop() {
        long backoff = RETRY_MIN_MS;
        long retryAt = 0;
        while (true) {
            String line;
            try {
                line = queue.poll(200, TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                break;
            }
            if (line == null) {
                if (closed) {
                    break;
                }
                continue;
            }
            if (channel == null && System.nanoTime() < retryAt) {
                dropped.incrementAndGet(); // off-line: the next line after the back-off carries the totals
                continue;
            }
            try {
                if (channel == null) {
                    connect();
                    backoff = RETRY_MIN_MS;
                }
                write(ByteBuffer.wrap((line + "\n").getBytes(StandardCharsets.UTF_8)));
            } catch (IOException e) {
                if (closed) {
                    break;
                }
                LOG.warn("progress to the driver at {}:{} failed ({}); retrying in {} ms", host, port, e.toString(),
                        backoff);
                disconnect();
                dropped.incrementAndGet();
                retryAt = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoff);
                backoff = Math.min(RETRY_MAX_MS, backoff * 2);
            }
        }
        disconnect();
    }

    /** Connects and answers the driver's challenge, every wait bounded. */
    private void connect() throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(CONNECT_TIMEOUT_MS);
        channel = SocketChannel.open();
        channel.configureBlocking(false);
        selector = Selector.open();
        if (!channel.connect(new InetSocketAddress(host, port))) {
            SelectionKey key = channel.register(selector, SelectionKey.OP_CONNECT);
            while (!channel.finishConnect()) {
                await(deadline, "connecting");
            }
            key.interestOps(0);
        }
        String greeting = readLine(deadline);
        if (!greeting.startsWith(ProgressServer.GREETING)) {
            throw new IOException("the driver's progress listener sent an unexpected greeting");
        }
        String challenge = greeting.substring(ProgressServer.GREETING.length());
        write(ByteBuffer.wrap((ProgressServer.answer(secret, challenge) + "\n").getBytes(StandardCharsets.US_ASCII)));
    }

    private String readLine(long deadline) throws IOException {
        SelectionKey key = channel.register(selector, SelectionKey.OP_READ);
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        ByteBuffer one = ByteBuffer.allocate(1);
        try {
            while (true) {
                one.clear();
                int n = channel.read(one);
                if (n < 0) {
                    throw new IOException("the driver closed the progress connection");
                }
                if (n == 0) {
                    await(deadline, "waiting for the driver's challenge");
                    continue;
                }
                byte b = one.get(0);
                if (b == '\n') {
                    return line.toString(StandardCharsets.US_ASCII);
                }
                if (line.size() > 256) {
                    throw new IOException("the driver's progress greeting is too long");
                }
                line.write(b);
            }
        } finally {
            key.interestOps(0);
        }
    }

    /** Writes all of {@code buf} or fails once {@value #WRITE_DEADLINE_MS} ms pass. */
    private void write(ByteBuffer buf) throws IOException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(WRITE_DEADLINE_MS);
        SelectionKey key = channel.register(selector, SelectionKey.OP_WRITE);
        try {
            while (buf.hasRemaining()) {
                if (channel.write(buf) == 0) {
                    await(deadline, "writing (the driver is not reading)");
                }
            }
        } finally {
            key.interestOps(0);
        }
    }

    private void await(long deadline, String what) throws IOException {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
            throw new IOException("progress deadline passed while " + what);
        }
        selector.select(left);
        selector.selectedKeys().clear();
        if (closed && Thread.currentThread().isInterrupted()) {
            throw new IOException("closed");
        }
    }

    private void disconnect() {
        try {
            if (selector != null) {
                selector.close();
            }
            if (channel != null) {
                channel.close();
            }
        } catch (IOException e) {
            LOG.debug("closing the progress connection: {}", e.toString());
        }
        selector = null;
        channel = null;
    }

    /** Lets the sender deliver what is queued for up to {@value #DRAIN_MS} ms, then stops it. */
    @Override
    public void close() {
        if (sender == null || closed) {
            return;
        }
        closed = true;
        try {
            sender.join(DRAIN_MS);
            if (sender.isAlive()) {
                sender.interrupt();
                sender.join(1_000);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (queue.size() + dropped.get() > 0) {
            LOG.info("progress: {} line(s) dropped, {} undelivered at close", dropped.get(), queue.size());
        }
    }
}
