package io.hicmae.runtime.allreduce;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * Mean of every rank's gradient buffer, in place, by a ring all-reduce over TCP: reduce-scatter then all-gather
 * over {@code n} segments of the flat buffer, each segment sent in chunks so that a rank forwards chunk
 * {@code k} while chunk {@code k+1} is still arriving. Each rank receives from its left neighbour
 * ({@code rank-1 mod n}) and sends to its right neighbour ({@code rank+1 mod n}); one thread drives both
 * non-blocking links through a selector, so sending and receiving overlap without a second thread.
 *
 * <p>Use in a barrier task:
 * <pre>{@code
 * try (RingAllReduce ring = RingAllReduce.bind(new InetSocketAddress(0))) {
 *     String[] all = ctx.allGather(host + ":" + ring.localAddress().getPort());  // index = rank
 *     ring.connect(new AllReduceConfig(rank, all.length, parse(all), secret, layoutHash, ...));
 *     for (long step = 0; ...; step++) {
 *         ring.allReduceMean(gradients, step);
 *     }
 * }
 * }</pre>
 *
 * <p>Safety: every peer proves the job secret ({@link Handshake}) before any tensor byte is read, and a
 * connection that fails the proof is closed while this rank keeps waiting for its real neighbour. Ranks compare
 * world size and layout hash at the handshake. Frames carry magic, step, element count and sequence number,
 * and a payload length is checked against {@link AllReduceConfig#maxFrameBytes()} before it is read.
 *
 * <p>Liveness: every wait has a deadline from the config's clock ({@code connectTimeout} for set-up,
 * {@code ioTimeout} for each wait on a neighbour); when it passes the call throws {@link AllReduceException}
 * naming the silent peer. Interrupting the calling thread makes a blocked call throw at once. After any
 * failure the ring is closed, so the neighbours see the link drop and fail too instead of waiting out their
 * deadlines.
 *
 * <p>Not thread-safe: one thread binds, connects, reduces and closes. To abort from another thread, interrupt
 * that thread.
 */
public final class RingAllReduce implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(RingAllReduce.class);

    /** The longest single select, so that a deadline passed by a jump of an injected clock is noticed. */
    private static final long MAX_SELECT_MILLIS = 100;

    private final ServerSocketChannel server;
    private final InetSocketAddress localAddress;
    private AllReduceConfig config;
    private Selector selector;
    private SocketChannel left;
    private SocketChannel right;
    private SelectionKey leftKey;
    private SelectionKey rightKey;
    private ByteBuffer sendFrame;
    private FloatBuffer sendFloats;
    private ByteBuffer recvHeader;
    private ByteBuffer recvPayload;
    private FloatBuffer recvFloats;
    private String failure;
    private boolean closed;

    private RingAllReduce(ServerSocketChannel server, InetSocketAddress localAddress) {
        this.server = server;
        this.localAddress = localAddress;
    }

    /**
     * Opens this rank's listener, the first phase: publish {@link #localAddress()}'s port with this executor's
     * host through {@code allGather}, then call {@link #connect}. Because the listener is bound before its
     * address is published, a neighbour can connect as soon as it learns the address: the kernel queues the
     * connection until this rank calls {@code connect}.
     *
     * @param listenAddress where to listen; port 0 picks a free port
     */
    public static RingAllReduce bind(InetSocketAddress listenAddress) throws IOException {
        ServerSocketChannel s = ServerSocketChannel.open();
        try {
            s.bind(listenAddress);
            s.configureBlocking(false);
            return new RingAllReduce(s, (InetSocketAddress) s.getLocalAddress());
        } catch (IOException | RuntimeException e) {
            s.close();
            throw e;
        }
    }

    /** The bound listen address; its port is what this rank publishes. */
    public InetSocketAddress localAddress() {
        return localAddress;
    }

    /**
     * Joins the ring, the second phase: connects to the right neighbour and accepts the left one, both
     * authenticated, within {@code config.connectTimeout()}. Connections that fail the secret are refused and
     * logged (without the secret) while this rank keeps waiting. World size 1 needs no link.
     *
     * @throws AllReduceException when a neighbour is missing at the deadline, refuses this rank, answers
     *     without the secret, or has another world size, rank or layout hash; or when interrupted
     */
    public void connect(AllReduceConfig config) throws AllReduceException {
        if (this.config != null || closed) {
            throw new IllegalStateException("connect was already called on this ring");
        }
        this.config = config;
        long start = config.clock().millis();
        try {
            if (config.worldSize() > 1) {
                handshake(start + config.connectTimeout().toMillis());
                allocateBuffers();
                LOG.info("rank {}: ring of {} ranks up in {} ms, receiving from {}, sending to {}", config.rank(),
                        config.worldSize(), config.clock().millis() - start, config.describePeer(config.leftRank()),
                        config.describePeer(config.rightRank()));
            }
            server.close();
        } catch (IOException | RuntimeException e) {
            throw fail(e, "rank " + config.rank() + ", ring set-up");
        }
    }

    /**
     * Replaces {@code data[position, limit)} with the element-wise mean over all ranks, identical to the last bit
     * on every rank. Every rank must pass the same element count and the same step; the position and limit are
     * left unchanged. The links are reused from call to call.
     *
     * @param data this rank's flat gradients in parameter order; direct or heap
     * @param step the training step, checked against every frame received
     * @throws AllReduceException when a neighbour is silent for {@code ioTimeout}, drops, or sends a frame for
     *     another step, count or length; or when interrupted. The ring is closed afterwards.
     */
    public void allReduceMean(FloatBuffer data, long step) throws AllReduceException {
        if (config == null) {
            throw new IllegalStateException("connect(config) must be called before allReduceMean");
        }
        if (closed) {
            throw new IllegalStateException("the ring is closed" + (failure == null ? "" : " after: " + failure));
        }
        if (config.worldSize() == 1 || !data.hasRemaining()) {
            return;
        }
        Pass pass = new Pass(data.slice(), step);
        try {
            pass.run();
        } catch (IOException | RuntimeException e) {
            throw fail(e, "rank " + config.rank() + ", step " + step);
        }
    }

    /** {@link #allReduceMean(FloatBuffer, long)} over a whole array. */
    public void allReduceMean(float[] data, long step) throws AllReduceException {
        allReduceMean(FloatBuffer.wrap(data), step);
    }

    /** Closes the listener and both links; safe to call more than once. */
    @Override
    public void close() {
        closed = true;
        closeQuietly(selector);
        closeQuietly(left);
        closeQuietly(right);
        closeQuietly(server);
    }

    // ---------------------------------------------------------------- set-up

    private void handshake(long deadline) throws IOException {
        AllReduceConfig c = config;
        byte[] secret = c.secret();
        Handshake.Identity me = new Handshake.Identity(c.rank(), c.worldSize(), c.layoutHash());
        selector = Selector.open();
        SelectionKey serverKey = server.register(selector, SelectionKey.OP_ACCEPT);
        Outgoing out = new Outgoing(secret, me);
        List<Incoming> pending = new ArrayList<>();
        try {
            while (left == null || !out.done()) {
                if (left == null) {
                    for (SocketChannel ch; (ch = server.accept()) != null; ) {
                        pending.add(new Incoming(ch, secret, me));
                    }
                    for (Incoming in : List.copyOf(pending)) {
                        SocketChannel authenticated = in.pump();
                        if (authenticated != null || !in.channel.isOpen()) {
                            pending.remove(in);
                        }
                        if (authenticated != null) {
                            left = authenticated;
                            leftKey = in.key;
                            serverKey.cancel();
                            break;
                        }
                    }
                }
                if (!out.done()) {
                    out.pump();
                }
                if (left != null && out.done()) {
                    break;
                }
                long now = c.clock().millis();
                if (now >= deadline) {
                    throw new AllReduceException(setUpTimeout(out));
                }
                selector.select(Math.min(deadline - now, MAX_SELECT_MILLIS));
                selector.selectedKeys().clear();
                checkInterrupted();
            }
        } finally {
            for (Incoming in : pending) {
                closeQuietly(in.channel);
            }
        }
        right = out.channel;
        rightKey = out.key;
        for (SocketChannel ch : List.of(left, right)) {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        }
    }

    private String setUpTimeout(Outgoing out) {
        List<String> missing = new ArrayList<>();
        if (left == null) {
            missing.add("left neighbour " + config.describePeer(config.leftRank())
                    + " has not connected and proved the job secret");
        }
        if (!out.done()) {
            missing.add("right neighbour " + config.describePeer(config.rightRank()) + " " + out.waitingFor());
        }
        return "timed out after " + config.connectTimeout().toMillis() + " ms: " + String.join("; ", missing);
    }

    private void allocateBuffers() {
        int chunk = config.chunkBytes();
        sendFrame = ByteBuffer.allocateDirect(Frame.HEADER_BYTES + chunk).order(ByteOrder.LITTLE_ENDIAN);
        sendFloats = sendFrame.slice(Frame.HEADER_BYTES, chunk).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        recvHeader = ByteBuffer.allocateDirect(Frame.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        recvPayload = ByteBuffer.allocateDirect(chunk).order(ByteOrder.LITTLE_ENDIAN);
        recvFloats = recvPayload.asFloatBuffer();
    }

    /** A connection from someone claiming to be the left neighbour: HELLO out, AUTH in, ACCEPT out. */
    private final class Incoming {
        final SocketChannel channel;
        final SelectionKey key;
        final byte[] secret;
        final Handshake.Identity me;
        final byte[] nonceA = Handshake.newNonce();
        ByteBuffer out;
        final ByteBuffer in = Handshake.buffer(Handshake.AUTH_BYTES);
        Handshake.Identity peer;

        Incoming(SocketChannel channel, byte[] secret, Handshake.Identity me) throws IOException {
            this.channel = channel;
            this.secret = secret;
            this.me = me;
            channel.configureBlocking(false);
            key = channel.register(selector, SelectionKey.OP_WRITE);
            out = Handshake.hello(nonceA);
        }

        /** Moves the exchange on; returns the channel once the peer is authenticated and accepted. */
        SocketChannel pump() throws IOException {
            SocketAddress from = channel.getRemoteAddress();
            try {
                if (!flush(channel, key, out)) {
                    return null;
                }
                if (peer != null) {
                    String mismatch = peer.mismatch(new Handshake.Identity(config.leftRank(), me.worldSize(),
                            me.layoutHash()));
                    if (mismatch != null) {
                        throw new AllReduceException("peer at " + from + ", authenticated as rank " + peer.rank()
                                + " (left neighbour " + config.describePeer(config.leftRank()) + " expected): "
                                + mismatch);
                    }
                    return channel;
                }
                if (channel.read(in) < 0) {
                    LOG.warn("rank {}: connection from {} closed before it proved the job secret", me.rank(), from);
                    channel.close();
                    return null;
                }
                if (in.hasRemaining()) {
                    key.interestOps(SelectionKey.OP_READ);
                    return null;
                }
                Handshake.Authenticated auth = Handshake.verifyAuth(secret, in.flip(), nonceA);
                if (auth == null) {
                    LOG.warn("rank {}: refused the connection from {}: it did not prove the job secret", me.rank(),
                            from);
                    channel.close();
                    return null;
                }
                peer = auth.identity();
                out = Handshake.accept(secret, auth.nonceC(), me, nonceA);
                return pump();
            } catch (ClosedByInterruptException e) {
                throw e;
            } catch (IOException e) {
                if (e instanceof AllReduceException) {
                    throw e;
                }
                LOG.warn("rank {}: dropped the connection from {} during the handshake: {}", me.rank(), from,
                        e.toString());
                channel.close();
                return null;
            }
        }
    }

    /** The link to the right neighbour: connect, HELLO in, AUTH out, ACCEPT in. */
    private final class Outgoing {
        final SocketChannel channel;
        final SelectionKey key;
        final byte[] secret;
        final Handshake.Identity me;
        final byte[] nonceC = Handshake.newNonce();
        ByteBuffer in = Handshake.buffer(Handshake.HELLO_BYTES);
        ByteBuffer out = Handshake.buffer(0);
        byte[] nonceA;
        boolean connected;
        boolean done;

        Outgoing(byte[] secret, Handshake.Identity me) throws IOException {
            this.secret = secret;
            this.me = me;
            channel = SocketChannel.open();
            channel.configureBlocking(false);
            connected = channel.connect(config.peers().get(config.rightRank()));
            key = channel.register(selector, connected ? SelectionKey.OP_READ : SelectionKey.OP_CONNECT);
        }

        boolean done() {
            return done;
        }

        String waitingFor() {
            if (!connected) {
                return "has not accepted the connection";
            }
            return nonceA == null ? "has not sent its hello" : "has not answered this rank's proof of the secret";
        }

        void pump() throws IOException {
            String peer = "right neighbour " + config.describePeer(config.rightRank());
            try {
                if (!connected) {
                    connected = channel.finishConnect();
                    if (!connected) {
                        return;
                    }
                    key.interestOps(SelectionKey.OP_READ);
                }
                if (!flush(channel, key, out)) {
                    return;
                }
                if (channel.read(in) < 0) {
                    throw new AllReduceException(peer + " closed the connection during the handshake; it refuses"
                            + " ranks that cannot prove its job secret (are both ranks in the same job?)");
                }
            } catch (ClosedByInterruptException | AllReduceException e) {
                throw e;
            } catch (IOException e) {
                throw new AllReduceException("could not connect to " + peer + ": " + e, e);
            }
            if (in.hasRemaining()) {
                key.interestOps(SelectionKey.OP_READ);
                return;
            }
            if (nonceA == null) {
                nonceA = Handshake.readHello(in.flip());
                if (nonceA == null) {
                    throw new AllReduceException(peer + " did not answer with a hello: it is not a ring rank");
                }
                out = Handshake.auth(secret, nonceA, me, nonceC);
                in = Handshake.buffer(Handshake.ACCEPT_BYTES);
                pump();
                return;
            }
            Handshake.Identity accepted = Handshake.verifyAccept(secret, in.flip(), nonceC, nonceA);
            if (accepted == null) {
                throw new AllReduceException(peer + " did not prove the job secret");
            }
            String mismatch = accepted.mismatch(new Handshake.Identity(config.rightRank(), me.worldSize(),
                    me.layoutHash()));
            if (mismatch != null) {
                throw new AllReduceException(peer + ": " + mismatch);
            }
            done = true;
            key.interestOps(0);
        }
    }

    /** Writes what {@code out} holds; true once it is all written, else waits for the channel to be writable. */
    private static boolean flush(SocketChannel ch, SelectionKey key, ByteBuffer out) throws IOException {
        ch.write(out);
        if (out.hasRemaining()) {
            key.interestOps(SelectionKey.OP_WRITE);
            return false;
        }
        return true;
    }

    // ---------------------------------------------------------------- one all-reduce

    /**
     * One all-reduce over {@code count} floats. Global step {@code g} in {@code [0, 2(n-1))} sends segment
     * {@code rank-g} and receives segment {@code rank-g-1} (mod n); steps below {@code n-1} add what they
     * receive (reduce-scatter, the last of them divides by n), the rest copy it (all-gather). The segment sent
     * at {@code g} is the one received at {@code g-1}, so chunk {@code k} of step {@code g} may be sent as soon
     * as chunk {@code k} of step {@code g-1} has arrived.
     */
    private final class Pass {
        final FloatBuffer data;
        final long step;
        final int count;
        final int n = config.worldSize();
        final int steps = 2 * (n - 1);
        final int chunkFloats = config.chunkBytes() / Float.BYTES;
        final long ioTimeout = config.ioTimeout().toMillis();
        int sendStep;
        int sendChunk;
        int sendSeq;
        boolean sending;
        long lastSend;
        int recvStep;
        int recvChunk;
        int recvSeq;
        boolean payload;
        long lastRecv;

        Pass(FloatBuffer data, long step) {
            this.data = data;
            this.step = step;
            this.count = data.remaining();
        }

        void run() throws IOException {
            lastSend = lastRecv = config.clock().millis();
            recvHeader.clear();
            skipEmptySends();
            skipEmptyRecvs();
            while (!done()) {
                boolean progressed;
                do {
                    progressed = pumpRecv() | pumpSend();
                } while (progressed && !done());
                if (done()) {
                    return;
                }
                leftKey.interestOps(recvStep < steps ? SelectionKey.OP_READ : 0);
                rightKey.interestOps(sending ? SelectionKey.OP_WRITE : 0);
                long now = config.clock().millis();
                long recvDeadline = recvStep < steps ? lastRecv + ioTimeout : Long.MAX_VALUE;
                long sendDeadline = sending ? lastSend + ioTimeout : Long.MAX_VALUE;
                if (now >= recvDeadline) {
                    throw new AllReduceException("timed out after " + ioTimeout + " ms waiting for frame " + recvSeq
                            + " (" + phase(recvStep) + ") from left neighbour "
                            + config.describePeer(config.leftRank()));
                }
                if (now >= sendDeadline) {
                    throw new AllReduceException("timed out after " + ioTimeout + " ms sending frame " + sendSeq
                            + " (" + phase(sendStep) + ") to right neighbour " + config.describePeer(config.rightRank())
                            + ": it stopped reading");
                }
                selector.select(Math.min(Math.min(recvDeadline, sendDeadline) - now, MAX_SELECT_MILLIS));
                selector.selectedKeys().clear();
                checkInterrupted();
            }
        }

        boolean done() {
            return sendStep >= steps && recvStep >= steps;
        }

        int start(int segment) {
            return (int) ((long) segment * count / n);
        }

        int length(int segment, int chunk) {
            return Math.min(chunkFloats, start(segment + 1) - start(segment) - chunk * chunkFloats);
        }

        int sendSegment(int g) {
            return Math.floorMod(config.rank() - g, n);
        }

        int recvSegment(int g) {
            return Math.floorMod(config.rank() - g - 1, n);
        }

        String phase(int g) {
            return g < n - 1 ? "reduce-scatter" : "all-gather";
        }

        void skipEmptySends() {
            while (sendStep < steps && length(sendSegment(sendStep), sendChunk) <= 0) {
                sendStep++;
                sendChunk = 0;
            }
        }

        void skipEmptyRecvs() {
            while (recvStep < steps && length(recvSegment(recvStep), recvChunk) <= 0) {
                recvStep++;
                recvChunk = 0;
            }
        }

        /** Chunk {@code k} of step {@code g >= 1} forwards chunk {@code k} of step {@code g-1} once it arrived. */
        boolean sendable() {
            return sendStep == 0 || recvStep > sendStep - 1 || (recvStep == sendStep - 1 && recvChunk > sendChunk);
        }

        boolean pumpSend() throws IOException {
            boolean progressed = false;
            while (sending || (sendStep < steps && sendable())) {
                if (!sending) {
                    int segment = sendSegment(sendStep);
                    int len = length(segment, sendChunk);
                    sendFrame.clear();
                    Frame.writeHeader(sendFrame, step, count, sendSeq, len * Float.BYTES);
                    sendFloats.put(0, data, start(segment) + sendChunk * chunkFloats, len);
                    sendFrame.limit(Frame.HEADER_BYTES + len * Float.BYTES).position(0);
                    sending = true;
                    lastSend = config.clock().millis();
                }
                int written;
                try {
                    written = right.write(sendFrame);
                } catch (ClosedByInterruptException e) {
                    throw e;
                } catch (IOException e) {
                    throw new AllReduceException("lost right neighbour " + config.describePeer(config.rightRank())
                            + " while sending frame " + sendSeq + ": " + e, e);
                }
                if (written > 0) {
                    progressed = true;
                    lastSend = config.clock().millis();
                }
                if (sendFrame.hasRemaining()) {
                    break;
                }
                sending = false;
                sendSeq++;
                sendChunk++;
                skipEmptySends();
            }
            return progressed;
        }

        boolean pumpRecv() throws IOException {
            boolean progressed = false;
            while (recvStep < steps) {
                ByteBuffer target = payload ? recvPayload : recvHeader;
                int read;
                try {
                    read = left.read(target);
                } catch (ClosedByInterruptException e) {
                    throw e;
                } catch (IOException e) {
                    throw new AllReduceException("lost left neighbour " + config.describePeer(config.leftRank())
                            + " while receiving frame " + recvSeq + ": " + e, e);
                }
                if (read < 0) {
                    throw new AllReduceException("left neighbour " + config.describePeer(config.leftRank())
                            + " closed the connection before frame " + recvSeq + " (" + phase(recvStep) + ")");
                }
                if (read > 0) {
                    progressed = true;
                    lastRecv = config.clock().millis();
                }
                if (target.hasRemaining()) {
                    break;
                }
                int segment = recvSegment(recvStep);
                int len = length(segment, recvChunk);
                if (!payload) {
                    String bad = Frame.check(recvHeader, step, count, recvSeq, len * Float.BYTES,
                            config.maxFrameBytes(), "left neighbour " + config.describePeer(config.leftRank()));
                    if (bad != null) {
                        throw new AllReduceException(bad);
                    }
                    recvPayload.clear().limit(len * Float.BYTES);
                    payload = true;
                    continue;
                }
                apply(recvStep, start(segment) + recvChunk * chunkFloats, len);
                payload = false;
                recvHeader.clear();
                recvSeq++;
                recvChunk++;
                skipEmptyRecvs();
            }
            return progressed;
        }

        /** Adds the received chunk (the last reduce-scatter step also divides by n) or copies it (all-gather). */
        void apply(int g, int offset, int len) {
            FloatBuffer d = data;
            FloatBuffer r = recvFloats;
            if (g < n - 2) {
                for (int i = 0; i < len; i++) {
                    d.put(offset + i, d.get(offset + i) + r.get(i));
                }
            } else if (g == n - 2) {
                float ranks = n;
                for (int i = 0; i < len; i++) {
                    d.put(offset + i, (d.get(offset + i) + r.get(i)) / ranks);
                }
            } else {
                d.put(offset, r, 0, len);
            }
        }
    }

    // ---------------------------------------------------------------- failure

    private void checkInterrupted() throws AllReduceException {
        if (Thread.currentThread().isInterrupted()) {
            throw new AllReduceException("interrupted");
        }
    }

    /** Closes everything and returns the exception to throw, prefixed with where it happened. */
    private AllReduceException fail(Exception e, String where) {
        String what = e instanceof ClosedByInterruptException || Thread.currentThread().isInterrupted()
                ? "interrupted" : e.getMessage() != null ? e.getMessage() : e.toString();
        failure = where + ": " + what;
        close();
        return new AllReduceException(failure, e);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.debug("closing {} failed: {}", c, e.toString());
        }
    }
}
