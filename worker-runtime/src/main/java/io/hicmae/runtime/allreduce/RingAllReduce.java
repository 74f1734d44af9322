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
import java.nio.ShortBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.zip.CRC32C;

/**
 * Mean of every rank's gradient buffer, in place, by a ring all-reduce over TCP: reduce-scatter then all-gather
 * over {@code n} segments of the flat buffer, each segment sent in chunks so that a rank forwards chunk
 * {@code k} while chunk {@code k+1} is still arriving. Each rank receives from its left neighbour
 * ({@code rank-1 mod n}) on the calling thread and sends to its right neighbour ({@code rank+1 mod n}) on its own
 * sender thread, so both links are busy at once, as in a ring on real NICs.
 *
 * <p>Copies: with fp32 on the wire, frames are written straight from the caller's buffer, and all-gather chunks are
 * read straight into it. Reduce-scatter chunks land in a chunk-sized scratch buffer first, because each payload's
 * CRC32C is checked before any of it is added ({@link Frame}); then they are added in place block by block. With
 * bf16 on the wire ({@link WireDtype}) each chunk is encoded into a scratch buffer to be sent and decoded from one
 * when received, and accumulated in fp32. Pass a direct
 * little-endian {@link ByteBuffer} ({@link #allReduceMean(ByteBuffer, long)}) to get this; a {@code float[]} or a
 * {@link FloatBuffer} is copied into a reused direct buffer and back.
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
 * world size, layout hash, run, attempt, frame version and wire dtype at the handshake. Frames carry magic, version,
 * wire dtype, step, element count, sequence number and the payload's CRC32C; a payload length is checked against
 * {@link AllReduceConfig#maxFrameBytes()} before it is read, and the CRC before the payload is used.
 *
 * <p>Liveness: every wait has a deadline from the config's clock ({@code connectTimeout} for set-up,
 * {@code ioTimeout} for each wait on a neighbour); when it passes the call throws {@link AllReduceException}
 * naming the silent peer. Interrupting the calling thread makes a blocked call throw at once. After any
 * failure the ring is closed, so the neighbours see the link drop and fail too instead of waiting out their
 * deadlines.
 *
 * <p>Not thread-safe: one call at a time. One thread binds, connects, reduces and closes, except that a reduce may
 * be handed to another thread when the hand-over orders the calls (a submitted task and its {@code Future}, as
 * the all-reduce beside the backward pass does). To abort from another thread, interrupt the calling thread. The sender thread is started by {@link #connect} and stopped (and joined) by {@link #close}.
 */
public final class RingAllReduce implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(RingAllReduce.class);

    /** The longest single select or park, so that a deadline passed by a jump of an injected clock is noticed. */
    private static final long MAX_SELECT_MILLIS = 100;

    /** Wait before connecting again to a right neighbour that refused the connection. */
    private static final long CONNECT_RETRY_MILLIS = 200;

    /** Bytes hashed at once while a payload arrives, so that each block is hashed while still in cache. */
    private static final int CRC_BLOCK_BYTES = 64 << 10;

    /** How long close() waits for the sender thread, which sees the close within one select or park. */
    private static final long JOIN_MILLIS = 10_000;

    private final ServerSocketChannel server;
    private final InetSocketAddress localAddress;
    private AllReduceConfig config;
    private Selector selector;
    private SocketChannel left;
    private SocketChannel right;
    private SelectionKey leftKey;
    private Selector sendSelector;
    private SelectionKey sendKey;
    private Thread sender;
    /** The all-reduce in progress, published to the sender thread; null between calls. */
    private volatile Pass pass;
    private ByteBuffer sendHeader;
    private ByteBuffer recvHeader;
    /** One whole received chunk: its CRC is checked before any of it is added, stored or forwarded. */
    private ByteBuffer recvChunk;
    private FloatBuffer recvFloats;
    private ShortBuffer recvShorts;
    /** bf16 on the wire: the sender's encoded chunk. */
    private ByteBuffer sendChunk;
    private ShortBuffer sendShorts;
    private Bf16 sendCodec;
    private Bf16 recvCodec;
    private final CRC32C sendCrc = new CRC32C();
    private final CRC32C recvCrc = new CRC32C();
    private BlockAdder adder;
    /** Runs bucket callbacks; created by the first bucketed call. */
    private ExecutorService callbacks;
    private ByteBuffer staging;
    private String failure;
    private volatile boolean closed;

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
                startSender();
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
     * Replaces the floats in {@code data[position, limit)} with their element-wise mean over all ranks, identical to
     * the last bit on every rank, without copying the buffer: frames are sent from it and received into it. Every
     * rank must pass the same element count and the same step; the position and limit are left unchanged. The
     * links are reused from call to call.
     *
     * @param data this rank's flat gradients in parameter order, little-endian (the wire order); best direct
     * @param step the training step, checked against every frame received
     * @throws IllegalArgumentException when {@code data} is big-endian or its remaining bytes are not whole floats
     * @throws AllReduceException when a neighbour is silent for {@code ioTimeout}, drops, or sends a frame for
     *     another step, count or length; or when interrupted. The ring is closed afterwards.
     */
    public void allReduceMean(ByteBuffer data, long step) throws AllReduceException {
        checkWireBuffer(data);
        if (needsExchange(data.remaining())) {
            run(data.slice().order(ByteOrder.LITTLE_ENDIAN), step);
        }
    }

    /** Receives each bucket of a bucketed all-reduce once its mean is final on this rank. */
    @FunctionalInterface
    public interface BucketListener {
        /**
         * Bucket {@code bucket}, floats {@code [from, to)} of the buffer (relative to its position), holds the mean
         * on this rank and is never written by the ring again in this call. Called once per bucket, in bucket order,
         * on one thread of the ring (the caller's when nothing travels), never concurrently with itself; later
         * buckets may be on the wire meanwhile, so it must not touch floats outside {@code [from, to)}.
         */
        void reduced(int bucket, int from, int to);
    }

    /**
     * {@link #allReduceMean(ByteBuffer, long)} in buckets: floats {@code [0, bucketEnds[0])}, then
     * {@code [bucketEnds[0], bucketEnds[1])}, ..., each reduced by its own ring pass, and {@code listener} is handed
     * each bucket as soon as it is reduced, on the ring's callback thread, while the next buckets are on the wire:
     * an optimiser can update the parameters of finished buckets (or stage their new values) meanwhile. Returns once
     * every bucket is reduced and every callback has returned. Every rank must pass the same bucket ends.
     *
     * <p>Decisions that need the whole buffer (the global gradient norm, the finite check, clipping) cannot be
     * taken inside a callback; a listener may compute per-bucket partial sums there, or stage new values and let
     * the caller commit them after its global check.
     *
     * @param bucketEnds strictly increasing float offsets, the last equal to the buffer's float count
     * @throws AllReduceException as {@link #allReduceMean(ByteBuffer, long)}; callbacks already started have returned
     *     by then and no later one starts
     * @throws RuntimeException the first exception a callback threw, once every bucket is reduced (the ring stays
     *     usable: every rank exchanged every frame)
     */
    public void allReduceMean(ByteBuffer data, long step, int[] bucketEnds, BucketListener listener)
            throws AllReduceException {
        allReduceMean(data, step, bucketEnds, listener, end -> { });
    }

    /** The deadline of each wait on a neighbour, from the config given to {@link #connect}. */
    public java.time.Duration ioTimeout() {
        if (config == null) {
            throw new IllegalStateException("the ring is not connected");
        }
        return config.ioTimeout();
    }

    /** Holds each bucket of a bucketed all-reduce back until this rank has written its floats. */
    @FunctionalInterface
    public interface BucketGate {
        /**
         * Returns once floats {@code [0, end)} of the buffer (relative to its position) are written and will not
         * change before the call ends.
         *
         * @throws AllReduceException when they will not be: the writer failed, or a deadline passed
         */
        void awaitWritten(int end) throws AllReduceException;
    }

    /**
     * {@link #allReduceMean(ByteBuffer, long, int[], BucketListener)} while the buffer is still being written, front
     * to back (the gradients of a backward pass that runs in stages): each bucket goes on the wire once
     * {@code gate} says its floats are written. Call it from another thread than the writer's. A gate that throws
     * fails the call as a broken link does (the ring is closed, so the neighbours fail at once).
     */
    public void allReduceMean(ByteBuffer data, long step, int[] bucketEnds, BucketListener listener, BucketGate gate)
            throws AllReduceException {
        checkWireBuffer(data);
        int count = data.remaining() / Float.BYTES;
        checkBuckets(bucketEnds, count);
        if (!needsExchange(data.remaining())) {
            for (int b = 0; b < bucketEnds.length; b++) {
                gate.awaitWritten(bucketEnds[b]);
                listener.reduced(b, b == 0 ? 0 : bucketEnds[b - 1], bucketEnds[b]);
            }
            return;
        }
        ByteBuffer all = data.slice().order(ByteOrder.LITTLE_ENDIAN);
        ExecutorService callbacks = callbackThread();
        List<Future<?>> pending = new ArrayList<>();
        try {
            for (int b = 0; b < bucketEnds.length; b++) {
                int from = b == 0 ? 0 : bucketEnds[b - 1];
                int to = bucketEnds[b];
                try {
                    gate.awaitWritten(to);
                } catch (AllReduceException e) {
                    throw fail(e, "rank " + config.rank() + ", step " + step + ", bucket " + b);
                }
                run(all.slice(from * Float.BYTES, (to - from) * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN), step);
                int bucket = b;
                pending.add(callbacks.submit(() -> listener.reduced(bucket, from, to)));
            }
        } catch (AllReduceException e) {
            for (Future<?> f : pending) {
                f.cancel(false);
            }
            awaitCallbacks(pending, JOIN_MILLIS, true);
            throw e;
        }
        awaitCallbacks(pending, config.ioTimeout().toMillis(), false);
    }

    private static void checkWireBuffer(ByteBuffer data) {
        if (data.order() != ByteOrder.LITTLE_ENDIAN) {
            throw new IllegalArgumentException("Invalid byte order " + data.order() + " of the all-reduce buffer:"
                    + " it must be little-endian, the wire order");
        }
        if (data.remaining() % Float.BYTES != 0) {
            throw new IllegalArgumentException("Invalid all-reduce buffer of " + data.remaining()
                    + " bytes: not a whole number of floats");
        }
    }

    private static void checkBuckets(int[] bucketEnds, int count) {
        if (bucketEnds == null || bucketEnds.length == 0 || bucketEnds[bucketEnds.length - 1] != count) {
            throw new IllegalArgumentException("Invalid bucket ends " + Arrays.toString(bucketEnds)
                    + ": the last must be the buffer's float count " + count);
        }
        for (int b = 0; b < bucketEnds.length; b++) {
            if (bucketEnds[b] <= (b == 0 ? 0 : bucketEnds[b - 1])) {
                throw new IllegalArgumentException("Invalid bucket ends " + Arrays.toString(bucketEnds)
                        + ": they must be positive and strictly increasing");
            }
        }
    }

    /** The single thread that runs bucket callbacks, started on first use and stopped by {@link #close()}. */
    private ExecutorService callbackThread() {
        if (callbacks == null) {
            int rank = config.rank();
            callbacks = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "ring-bucket-callbacks-rank-" + rank);
                t.setDaemon(true);
                return t;
            });
        }
        return callbacks;
    }

    /**
     * Waits for the callbacks in order, each within {@code timeoutMillis}; rethrows the first one's exception
     * unless {@code quiet} (the ring already failed, and that failure is what the caller sees).
     */
    private void awaitCallbacks(List<Future<?>> pending, long timeoutMillis, boolean quiet)
            throws AllReduceException {
        RuntimeException first = null;
        for (Future<?> f : pending) {
            try {
                f.get(timeoutMillis, TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.CancellationException e) {
                // never started: the ring failed first
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof Error err) {
                    throw err;
                }
                if (first == null && c instanceof RuntimeException re) {
                    first = re;
                }
            } catch (java.util.concurrent.TimeoutException e) {
                if (!quiet) {
                    throw new AllReduceException("rank " + config.rank() + ": a bucket callback did not return"
                            + " within " + timeoutMillis + " ms (io-timeout)");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AllReduceException("rank " + config.rank() + ": interrupted waiting for bucket callbacks");
            }
        }
        if (first != null && !quiet) {
            throw first;
        }
    }

    /**
     * {@link #allReduceMean(ByteBuffer, long)} over {@code data[position, limit)}, through a reused direct copy
     * (two extra passes over the buffer); the position and limit are left unchanged.
     */
    public void allReduceMean(FloatBuffer data, long step) throws AllReduceException {
        if (needsExchange(data.remaining())) {
            ByteBuffer copy = staging(data.remaining());
            copy.asFloatBuffer().put(data.duplicate());
            run(copy, step);
            data.duplicate().put(copy.asFloatBuffer());
        }
    }

    /** {@link #allReduceMean(FloatBuffer, long)} over a whole array. */
    public void allReduceMean(float[] data, long step) throws AllReduceException {
        allReduceMean(FloatBuffer.wrap(data), step);
    }

    /** Checks the ring is usable; false when there is nothing to exchange (one rank or no elements). */
    private boolean needsExchange(int remaining) {
        if (config == null) {
            throw new IllegalStateException("connect(config) must be called before allReduceMean");
        }
        if (closed) {
            throw new IllegalStateException("the ring is closed" + (failure == null ? "" : " after: " + failure));
        }
        return config.worldSize() > 1 && remaining > 0;
    }

    private void run(ByteBuffer bytes, long step) throws AllReduceException {
        try {
            reduce(bytes, step);
        } catch (IOException | RuntimeException e) {
            throw fail(e, "rank " + config.rank() + ", step " + step);
        }
    }

    /** Closes the listener and both links; safe to call more than once. */
    @Override
    public void close() {
        closed = true;
        if (callbacks != null) {
            callbacks.shutdownNow();
        }
        closeQuietly(sendSelector);
        closeQuietly(selector);
        closeQuietly(left);
        closeQuietly(right);
        closeQuietly(server);
        joinSender();
    }

    /** Waits for the sender thread to see the close; keeps the caller's interrupt status. */
    private void joinSender() {
        Thread s = sender;
        if (s == null || s == Thread.currentThread()) {
            return;
        }
        LockSupport.unpark(s);
        boolean interrupted = Thread.interrupted();
        try {
            s.join(JOIN_MILLIS);
        } catch (InterruptedException e) {
            interrupted = true;
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        if (s.isAlive()) {
            LOG.warn("rank {}: sender thread {} still running {} ms after close", config.rank(), s.getName(),
                    JOIN_MILLIS);
        }
    }

    // ---------------------------------------------------------------- set-up

    private void handshake(long deadline) throws IOException {
        AllReduceConfig c = config;
        byte[] secret = c.secret();
        Handshake.Identity me = Handshake.Identity.of(c, c.rank());
        selector = Selector.open();
        SelectionKey serverKey = server.register(selector, SelectionKey.OP_ACCEPT);
        Outgoing out = new Outgoing(secret, me);
        List<Incoming> pending = new ArrayList<>();
        boolean up = false;
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
            up = true;
        } finally {
            for (Incoming in : pending) {
                closeQuietly(in.channel);
            }
            if (!up) {
                closeQuietly(out.channel);
            }
        }
        right = out.channel;
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
        sendHeader = ByteBuffer.allocateDirect(Frame.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        recvHeader = ByteBuffer.allocateDirect(Frame.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        int chunkFloats = config.chunkBytes() / Float.BYTES;
        int block = Math.min(BlockAdder.MAX_BLOCK_FLOATS, chunkFloats);
        int wireBytes = chunkFloats * config.wireDtype().bytesPerFloat();
        recvChunk = ByteBuffer.allocateDirect(wireBytes).order(ByteOrder.LITTLE_ENDIAN);
        recvFloats = recvChunk.asFloatBuffer();
        recvShorts = recvChunk.asShortBuffer();
        adder = new BlockAdder(block);
        if (config.wireDtype() == WireDtype.BF16) {
            sendChunk = ByteBuffer.allocateDirect(wireBytes).order(ByteOrder.LITTLE_ENDIAN);
            sendShorts = sendChunk.asShortBuffer();
            sendCodec = new Bf16(block);
            recvCodec = new Bf16(block);
        }
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
                    String mismatch = peer.mismatch(Handshake.Identity.of(config, config.leftRank()));
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

    /**
     * The link to the right neighbour: connect, HELLO in, AUTH out, ACCEPT in. A refused connection is retried
     * every {@value #CONNECT_RETRY_MILLIS} ms until the set-up deadline: ranks that are separate processes (or a
     * host whose link is briefly down) may not be listening yet when this rank starts.
     */
    private final class Outgoing {
        SocketChannel channel;
        SelectionKey key;
        final byte[] secret;
        final Handshake.Identity me;
        final byte[] nonceC = Handshake.newNonce();
        ByteBuffer in = Handshake.buffer(Handshake.HELLO_BYTES);
        ByteBuffer out = Handshake.buffer(0);
        byte[] nonceA;
        boolean connected;
        boolean done;
        long retryAt;
        String lastRefusal;

        Outgoing(byte[] secret, Handshake.Identity me) throws IOException {
            this.secret = secret;
            this.me = me;
            open();
        }

        private void open() throws IOException {
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
                return "has not accepted the connection" + (lastRefusal == null ? "" : " (" + lastRefusal + ")");
            }
            return nonceA == null ? "has not sent its hello" : "has not answered this rank's proof of the secret";
        }

        void pump() throws IOException {
            String peer = "right neighbour " + config.describePeer(config.rightRank());
            try {
                if (channel == null) {
                    if (config.clock().millis() < retryAt) {
                        return;
                    }
                    open();
                }
                if (!connected) {
                    try {
                        connected = channel.finishConnect();
                    } catch (java.net.ConnectException e) {
                        lastRefusal = e.getMessage();
                        key.cancel();
                        channel.close();
                        channel = null;
                        retryAt = config.clock().millis() + CONNECT_RETRY_MILLIS;
                        return;
                    }
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
            String mismatch = accepted.mismatch(Handshake.Identity.of(config, config.rightRank()));
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

    /** Starts the sender thread once the links are up; it lives until {@link #close()}. */
    private void startSender() throws IOException {
        sendSelector = Selector.open();
        sendKey = right.register(sendSelector, 0);
        sender = new Thread(this::sendLoop, "ring-sender-rank-" + config.rank());
        sender.setDaemon(true);
        sender.start();
    }

    /** The sender thread: runs the send side of each published pass, parks in between, exits on close or failure. */
    private void sendLoop() {
        while (!closed) {
            Pass p = pass;
            if (p == null || p.sent) {
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(MAX_SELECT_MILLIS));
                continue;
            }
            try {
                p.sendAll();
                p.sent = true;
            } catch (Throwable e) { // IOException, or ClosedSelectorException when close() races a select
                p.sendError = e;
                return;
            } finally {
                LockSupport.unpark(p.caller);
                wakeQuietly(selector);
            }
        }
    }

    /** Runs one all-reduce over a little-endian byte view of the floats; both sides must agree on count and step. */
    private void reduce(ByteBuffer bytes, long step) throws IOException {
        Pass p = new Pass(bytes, step);
        pass = p;
        LockSupport.unpark(sender);
        try {
            p.receiveAll();
            p.awaitSent();
        } finally {
            pass = null;
        }
    }

    /** The reusable direct little-endian copy that float[] and heap callers are reduced through. */
    private ByteBuffer staging(int count) {
        long bytes = (long) count * Float.BYTES;
        if (bytes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Invalid buffer of " + count + " floats: at most "
                    + Integer.MAX_VALUE / Float.BYTES + " floats fit one all-reduce");
        }
        if (staging == null || staging.capacity() < bytes) {
            staging = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
        }
        return staging.clear().limit((int) bytes).slice().order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * One all-reduce over {@code count} floats, split between the calling thread (receives) and the sender thread.
     * Global step {@code g} in {@code [0, 2(n-1))} sends segment {@code rank-g} and receives segment
     * {@code rank-g-1} (mod n); steps below {@code n-1} add what they receive (reduce-scatter, the last of them
     * divides by n), the rest write it straight into the buffer (all-gather). The segment sent at {@code g} is the
     * one received at {@code g-1}, so chunk {@code k} of step {@code g} is sent as soon as chunk {@code k} of step
     * {@code g-1} has arrived and been applied: the receiver publishes its progress in {@link #received}.
     *
     * <p>The sender writes from the buffer itself (the kernel copies the bytes before {@code write} returns), so a
     * segment may be overwritten by a later all-gather step without harm.
     */
    private final class Pass {
        final ByteBuffer data;
        final long step;
        final int count;
        final int n = config.worldSize();
        final int steps = 2 * (n - 1);
        final int chunkFloats = config.chunkBytes() / Float.BYTES;
        final WireDtype wire = config.wireDtype();
        final long ioTimeout = config.ioTimeout().toMillis();
        final Thread caller = Thread.currentThread();
        final FloatBuffer dataFloats;
        /** {@code (g << 32) | k} of the next frame the receiver completes; frames before it are applied. */
        volatile long received;
        volatile boolean sent;
        volatile Throwable sendError;
        /** When the receiver last got a byte; the pass's start before the first, so its deadline includes set-up. */
        long lastRecv = config.clock().millis();

        Pass(ByteBuffer data, long step) {
            this.data = data;
            this.step = step;
            this.count = data.remaining() / Float.BYTES;
            this.dataFloats = data.asFloatBuffer();
        }

        int start(int segment) {
            return (int) ((long) segment * count / n);
        }

        /** Floats in chunk {@code k} of {@code segment}; 0 or less past its end. */
        int length(int segment, int k) {
            return Math.min(chunkFloats, start(segment + 1) - start(segment) - k * chunkFloats);
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

        // ------------------------------------------------------------ sender thread

        void sendAll() throws IOException {
            ByteBuffer payload = wire == WireDtype.FP32 ? data.duplicate() : sendChunk.duplicate();
            ByteBuffer[] frame = {sendHeader, payload};
            int seq = 0;
            for (int g = 0; g < steps; g++) {
                int segment = sendSegment(g);
                for (int k = 0, len; (len = length(segment, k)) > 0; k++, seq++) {
                    awaitReceived(g, k);
                    int offset = start(segment) + k * chunkFloats;
                    if (wire == WireDtype.FP32) {
                        payload.clear().position(offset * Float.BYTES).limit((offset + len) * Float.BYTES);
                    } else {
                        for (int s = 0; s < len; s += sendCodec.blockFloats()) {
                            sendCodec.encode(dataFloats, offset + s, sendShorts, s,
                                    Math.min(sendCodec.blockFloats(), len - s));
                        }
                        payload.clear().limit(len * wire.bytesPerFloat());
                    }
                    sendCrc.reset();
                    sendCrc.update(payload.duplicate());
                    sendHeader.clear();
                    Frame.writeHeader(sendHeader, wire, step, count, seq, payload.remaining(),
                            (int) sendCrc.getValue());
                    sendHeader.flip();
                    write(frame, seq, g);
                }
            }
        }

        /** Parks until chunk {@code k} of step {@code g-1} is applied, so that chunk {@code k} of {@code g} may go. */
        void awaitReceived(int g, int k) throws AllReduceException {
            long needed = ((long) (g - 1) << 32) | k;
            while (g > 0 && received <= needed) {
                if (closed) {
                    throw new AllReduceException("closed");
                }
                // Unparked by the receiver after every chunk; the timeout only bounds how late close() is seen.
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(MAX_SELECT_MILLIS));
            }
        }

        void write(ByteBuffer[] frame, int seq, int g) throws IOException {
            long last = config.clock().millis();
            while (frame[1].hasRemaining()) {
                long written;
                try {
                    written = right.write(frame);
                } catch (IOException e) {
                    throw new AllReduceException("lost right neighbour " + config.describePeer(config.rightRank())
                            + " while sending frame " + seq + ": " + e, e);
                }
                long now = config.clock().millis();
                if (written > 0) {
                    last = now;
                    continue;
                }
                if (now - last >= ioTimeout) {
                    throw new AllReduceException("timed out after " + ioTimeout + " ms sending frame " + seq + " ("
                            + phase(g) + ") to right neighbour " + config.describePeer(config.rightRank())
                            + ": it stopped reading");
                }
                sendKey.interestOps(SelectionKey.OP_WRITE);
                sendSelector.select(Math.min(last + ioTimeout - now, MAX_SELECT_MILLIS));
                sendSelector.selectedKeys().clear();
                if (closed) {
                    throw new AllReduceException("closed");
                }
            }
        }

        // ------------------------------------------------------------ calling thread

        /**
         * Receives every frame; each payload is read whole and its CRC32C checked before any of it is added (reduce-
         * scatter), decoded or forwarded (all-gather). fp32 all-gather chunks are read straight into the buffer: a
         * chunk failing its check fails the call, and a failed call leaves the buffer undefined, as any failure does.
         */
        void receiveAll() throws IOException {
            ByteBuffer into = data.duplicate();
            String from = "left neighbour " + config.describePeer(config.leftRank());
            int seq = 0;
            for (int g = 0; g < steps; g++) {
                int segment = recvSegment(g);
                for (int k = 0, len; (len = length(segment, k)) > 0; k++, seq++) {
                    recvHeader.clear();
                    read(recvHeader, seq, g);
                    int wireBytes = len * wire.bytesPerFloat();
                    String bad = Frame.check(recvHeader, wire, step, count, seq, wireBytes, config.maxFrameBytes(),
                            from);
                    if (bad != null) {
                        throw new AllReduceException(bad);
                    }
                    int offset = start(segment) + k * chunkFloats;
                    boolean direct = g >= n - 1 && wire == WireDtype.FP32;
                    ByteBuffer target = direct
                            ? into.clear().position(offset * Float.BYTES).limit((offset + len) * Float.BYTES)
                            : recvChunk.clear().limit(wireBytes);
                    int crc = readChecked(target, seq, g);
                    if (crc != Frame.crc(recvHeader)) {
                        throw new AllReduceException(Frame.crcMismatch(seq, phase(g), from, Frame.crc(recvHeader),
                                crc));
                    }
                    for (int s = 0; s < len && !direct; s += adder.blockFloats()) {
                        int m = Math.min(adder.blockFloats(), len - s);
                        if (g >= n - 1) {
                            recvCodec.decode(recvShorts, s, dataFloats, offset + s, m);
                        } else if (wire == WireDtype.FP32) {
                            adder.add(dataFloats, offset + s, recvFloats, s, m, g == n - 2, n);
                        } else {
                            adder.addBf16(dataFloats, offset + s, recvShorts, s, m, g == n - 2, n);
                        }
                    }
                    received = ((long) g << 32) | (k + 1);
                    LockSupport.unpark(sender);
                }
                received = (long) (g + 1) << 32;
            }
        }

        /**
         * Reads {@code target}'s remaining bytes, hashing each 64 KiB block while it is still in cache; returns the
         * CRC32C of them all.
         */
        int readChecked(ByteBuffer target, int seq, int g) throws IOException {
            recvCrc.reset();
            int end = target.limit();
            for (int p = target.position(); p < end; p = target.position()) {
                target.limit(Math.min(end, p + CRC_BLOCK_BYTES));
                read(target, seq, g);
                recvCrc.update(target.duplicate().position(p));
            }
            return (int) recvCrc.getValue();
        }

        void read(ByteBuffer target, int seq, int g) throws IOException {
            while (target.hasRemaining()) {
                int read;
                try {
                    read = left.read(target);
                } catch (ClosedByInterruptException e) {
                    throw e;
                } catch (IOException e) {
                    throw new AllReduceException("lost left neighbour " + config.describePeer(config.leftRank())
                            + " while receiving frame " + seq + ": " + e, e);
                }
                if (read < 0) {
                    throw new AllReduceException("left neighbour " + config.describePeer(config.leftRank())
                            + " closed the connection before frame " + seq + " (" + phase(g) + ")");
                }
                long now = config.clock().millis();
                if (read > 0) {
                    lastRecv = now;
                    continue;
                }
                checkSender();
                if (now - lastRecv >= ioTimeout) {
                    throw new AllReduceException("timed out after " + ioTimeout + " ms waiting for frame " + seq
                            + " (" + phase(g) + ") from left neighbour " + config.describePeer(config.leftRank()));
                }
                leftKey.interestOps(SelectionKey.OP_READ);
                selector.select(Math.min(lastRecv + ioTimeout - now, MAX_SELECT_MILLIS));
                selector.selectedKeys().clear();
                checkInterrupted();
            }
        }

        /** Waits for the sender to finish; it cannot stall on this rank, so its own deadline bounds the wait. */
        void awaitSent() throws AllReduceException {
            while (!sent) {
                checkSender();
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(MAX_SELECT_MILLIS));
                checkInterrupted();
            }
        }

        void checkSender() throws AllReduceException {
            Throwable e = sendError;
            if (e != null) {
                throw new AllReduceException(e.getMessage() != null ? e.getMessage() : e.toString(), e);
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

    private static void wakeQuietly(Selector s) {
        try {
            s.wakeup();
        } catch (RuntimeException e) {
            LOG.debug("waking the selector failed: {}", e.toString());
        }
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
