package io.hicmae.runtime.allreduce;

import java.net.InetSocketAddress;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * What one rank needs to join the gradient ring. Immutable; built by the barrier task from the job's typed
 * config and the addresses gathered with {@code BarrierTaskContext.allGather}.
 *
 * @param rank this rank, the barrier partition id, in {@code [0, worldSize)}
 * @param worldSize number of ranks in the ring
 * @param peers every rank's published listen address, indexed by rank (this rank's own entry included)
 * @param secret the per-job secret every peer proves with an HMAC before any tensor byte is read; never logged
 *     or printed, and {@link #toString()} shows only its length
 * @param layoutHash hash of the gradient layout (parameter names and shapes in {@code getParameters()} order);
 *     ranks compare it at handshake so that different models fail before any gradient is exchanged
 * @param chunkBytes payload bytes per frame; the unit of pipelining, a multiple of 4 (one float)
 * @param maxFrameBytes largest frame payload a peer may announce; checked before any payload byte is read
 * @param connectTimeout deadline for the whole ring set-up (both neighbours connected and authenticated)
 * @param ioTimeout deadline for each wait on a neighbour during an all-reduce; a peer that sends or reads
 *     nothing for this long fails the call, naming it
 * @param clock source of "now" for every deadline, injected so tests can move time
 * @param runId the run this ring belongs to; bound into the handshake, so a rank of another run sharing the
 *     secret is refused ("" when the caller has no run, e.g. a benchmark)
 * @param attempt the run's attempt (the driver's resubmission count) this ring belongs to; bound into the
 *     handshake, so a rank left over from an earlier attempt cannot join a later one
 * @param wireDtype how floats travel: {@link WireDtype#FP32} (default) or {@link WireDtype#BF16}
 */
public record AllReduceConfig(
        int rank,
        int worldSize,
        List<InetSocketAddress> peers,
        byte[] secret,
        long layoutHash,
        int chunkBytes,
        int maxFrameBytes,
        Duration connectTimeout,
        Duration ioTimeout,
        Clock clock,
        String runId,
        int attempt,
        WireDtype wireDtype) {

    /**
     * 1 MiB: large enough that per-frame costs vanish, small enough that the ring's pipeline fills and drains
     * quickly: a ring ends about one chunk's time on the wire after its last full step (at 1 Gbit/s a 4 MiB chunk
     * cost 6% of a 64 MB all-reduce across emulated hosts, 1 MiB under 2%; bench/allreduce/netns-*.md), and the
     * receive buffer a chunk's CRC is checked in stays in the core's L2 cache.
     */
    public static final int DEFAULT_CHUNK_BYTES = 1 << 20;

    /** 64 MiB: 16 default chunks; a peer announcing more than this is broken or hostile. */
    public static final int DEFAULT_MAX_FRAME_BYTES = 64 << 20;

    /** Ranks have all published their addresses when set-up starts, so one minute only covers slow starts. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofMinutes(1);

    /**
     * A rank waits for its slowest neighbour's forward and backward pass before the first frame arrives, so
     * the per-wait deadline must exceed one training step on the slowest executor.
     */
    public static final Duration DEFAULT_IO_TIMEOUT = Duration.ofMinutes(5);

    /** The shortest secret accepted: 128 bits. */
    public static final int MIN_SECRET_BYTES = 16;

    /** Validates every field; errors name the configuration key and the value (never the secret's bytes). */
    public AllReduceConfig {
        if (worldSize < 1) {
            throw invalid(worldSize, "world-size", "must be at least 1");
        }
        if (rank < 0 || rank >= worldSize) {
            throw invalid(rank, "rank", "must be in [0, " + worldSize + ")");
        }
        if (peers == null || peers.size() != worldSize) {
            throw invalid(peers == null ? null : peers.size() + " addresses", "peers",
                    "must hold one address per rank (" + worldSize + ")");
        }
        peers = List.copyOf(peers);
        if (secret == null || secret.length < MIN_SECRET_BYTES) {
            throw invalid(secret == null ? null : "<" + secret.length + " bytes>", "secret",
                    "must be at least " + MIN_SECRET_BYTES + " bytes");
        }
        secret = secret.clone();
        if (chunkBytes < 4 || chunkBytes % 4 != 0) {
            throw invalid(chunkBytes, "chunk-bytes", "must be a positive multiple of 4");
        }
        if (maxFrameBytes < chunkBytes) {
            throw invalid(maxFrameBytes, "max-frame-bytes", "must be at least chunk-bytes (" + chunkBytes + ")");
        }
        requirePositive(connectTimeout, "connect-timeout");
        requirePositive(ioTimeout, "io-timeout");
        if (clock == null) {
            throw invalid(null, "clock", "must be set");
        }
        if (runId == null) {
            throw invalid(null, "run-id", "must be set (empty when the ring belongs to no run)");
        }
        if (attempt < 0) {
            throw invalid(attempt, "attempt", "must be at least 0");
        }
        if (wireDtype == null) {
            throw invalid(null, "allreduce-dtype", "must be fp32 or bf16");
        }
    }

    /** A config bound to no run, attempt 0, fp32 on the wire: the fields before run binding and wire dtypes. */
    public AllReduceConfig(int rank, int worldSize, List<InetSocketAddress> peers, byte[] secret, long layoutHash,
                           int chunkBytes, int maxFrameBytes, Duration connectTimeout, Duration ioTimeout,
                           Clock clock) {
        this(rank, worldSize, peers, secret, layoutHash, chunkBytes, maxFrameBytes, connectTimeout, ioTimeout, clock,
                "", 0, WireDtype.FP32);
    }

    /** A config with the default chunk and frame sizes, timeouts and the system clock. */
    public static AllReduceConfig withDefaults(int rank, List<InetSocketAddress> peers, byte[] secret,
                                               long layoutHash) {
        return new AllReduceConfig(rank, peers.size(), peers, secret, layoutHash, DEFAULT_CHUNK_BYTES,
                DEFAULT_MAX_FRAME_BYTES, DEFAULT_CONNECT_TIMEOUT, DEFAULT_IO_TIMEOUT, Clock.systemUTC());
    }

    /** A copy with other timeouts and clock. */
    public AllReduceConfig withTimeouts(Duration connectTimeout, Duration ioTimeout, Clock clock) {
        return new AllReduceConfig(rank, worldSize, peers, secret, layoutHash, chunkBytes, maxFrameBytes,
                connectTimeout, ioTimeout, clock, runId, attempt, wireDtype);
    }

    /** A copy with other frame sizes. */
    public AllReduceConfig withFrames(int chunkBytes, int maxFrameBytes) {
        return new AllReduceConfig(rank, worldSize, peers, secret, layoutHash, chunkBytes, maxFrameBytes,
                connectTimeout, ioTimeout, clock, runId, attempt, wireDtype);
    }

    /** A copy bound to a run and one of its attempts (both checked by every peer at the handshake). */
    public AllReduceConfig withRun(String runId, int attempt) {
        return new AllReduceConfig(rank, worldSize, peers, secret, layoutHash, chunkBytes, maxFrameBytes,
                connectTimeout, ioTimeout, clock, runId, attempt, wireDtype);
    }

    /** A copy with another wire dtype (every rank must use the same; the handshake checks). */
    public AllReduceConfig withWireDtype(WireDtype wireDtype) {
        return new AllReduceConfig(rank, worldSize, peers, secret, layoutHash, chunkBytes, maxFrameBytes,
                connectTimeout, ioTimeout, clock, runId, attempt, wireDtype);
    }

    /** The first 8 bytes of SHA-256 of the run id, as the handshake carries it. */
    long runHash() {
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256")
                    .digest(runId.getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.nio.ByteBuffer.wrap(d).getLong();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** A copy of the secret, so that callers cannot change this config's. */
    @Override
    public byte[] secret() {
        return secret.clone();
    }

    /** The rank on the left, which this rank receives from. */
    public int leftRank() {
        return Math.floorMod(rank - 1, worldSize);
    }

    /** The rank on the right, which this rank sends to. */
    public int rightRank() {
        return Math.floorMod(rank + 1, worldSize);
    }

    /** "rank 2 at host:port", the way every network error names a peer. */
    String describePeer(int peerRank) {
        InetSocketAddress a = peers.get(peerRank);
        return "rank " + peerRank + " at " + a.getHostString() + ":" + a.getPort();
    }

    @Override
    public String toString() {
        return "AllReduceConfig[rank=" + rank + ", worldSize=" + worldSize + ", peers=" + peers
                + ", secret=<" + secret.length + " bytes>, layoutHash=" + String.format("%016x", layoutHash)
                + ", chunkBytes=" + chunkBytes + ", maxFrameBytes=" + maxFrameBytes
                + ", connectTimeout=" + connectTimeout + ", ioTimeout=" + ioTimeout + ", clock=" + clock
                + ", runId=" + runId + ", attempt=" + attempt + ", wireDtype=" + wireDtype + "]";
    }

    private static void requirePositive(Duration d, String key) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw invalid(d, key, "must be positive");
        }
    }

    private static IllegalArgumentException invalid(Object value, String key, String reason) {
        return new IllegalArgumentException("Invalid value " + value + " for configuration " + key + ": " + reason);
    }
}
