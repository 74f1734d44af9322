package io.hicmae.runtime.allreduce;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The ring bench's per-process mode: this JVM is one rank, its peers are other processes (other hosts, or network
 * namespaces on one machine: {@code bench/allreduce/netns.sh}), given each other's addresses. Rank 0 prints one line
 * per size, {@code busbw X GB/s = Y% of the link bound} when the link rate is given, with NCCL's definitions
 * ({@code busbw = bytes / time * 2(n-1)/n}, bytes counted as fp32 gradient bytes reduced, whatever travels) and the
 * bandwidth on the wire beside it. Before each timed all-reduce the ranks reduce one float, so that every timed
 * run starts together; the time is rank 0's, from its start to its finish.
 *
 * <p>With {@code --overlap-buckets-mb B} it measures instead what bucketing buys an optimiser: per size, the
 * all-reduce alone (A), an AdamW update over the whole buffer alone (O, plain Java on this process's cores, a stand-in
 * for the fused per-bucket optimiser), the two in sequence (S), and the bucketed all-reduce with the update of each
 * bucket in its completion callback (P), interleaved; the target is {@code P <= 1.10 x max(A, O)}.
 *
 * <p>The plain mode uses only the ring's public API of before bf16 and buckets, so the same source without
 * {@link WireDtypes} and {@link Overlap} compiled against an older ring measures it as a baseline.
 *
 * <p>Flags: {@code --rank R --peers host:port,host:port,... --secret-file F [--sizes-mb 16,64,128] [--iters 5]
 * [--warmup 1] [--chunk-kib 1024] [--allreduce-dtype fp32|bf16] [--link-gbit G] [--label L]}. The secret file
 * holds at least 16 bytes; this rank listens on its own entry of {@code --peers}.
 */
public final class AllReduceProcessBench {
    private AllReduceProcessBench() {
    }

    public static void main(String[] args) throws Exception {
        int rank = -1;
        List<InetSocketAddress> peers = null;
        Path secretFile = null;
        int[] sizes = {16, 64, 128};
        int iters = 5;
        int warmup = 1;
        int chunkKib = AllReduceConfig.DEFAULT_CHUNK_BYTES >> 10;
        String dtype = "fp32";
        double linkGbit = 0;
        String label = "ring";
        int bucketMb = 0;
        int ioTimeoutS = 120;
        int runS = 0;
        for (int i = 0; i < args.length; i += 2) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            if (value == null) {
                throw new IllegalArgumentException("Missing value for flag " + args[i]);
            }
            switch (args[i]) {
                case "--rank" -> rank = Integer.parseInt(value);
                case "--peers" -> peers = parsePeers(value);
                case "--secret-file" -> secretFile = Path.of(value);
                case "--sizes-mb" -> sizes = Arrays.stream(value.split(",")).mapToInt(Integer::parseInt).toArray();
                case "--iters" -> iters = Integer.parseInt(value);
                case "--warmup" -> warmup = Integer.parseInt(value);
                case "--chunk-kib" -> chunkKib = Integer.parseInt(value);
                case "--allreduce-dtype" -> dtype = value;
                case "--link-gbit" -> linkGbit = Double.parseDouble(value);
                case "--label" -> label = value;
                case "--overlap-buckets-mb" -> bucketMb = Integer.parseInt(value);
                case "--io-timeout-s" -> ioTimeoutS = Integer.parseInt(value);
                case "--run-s" -> runS = Integer.parseInt(value);
                default -> throw new IllegalArgumentException("Unknown flag " + args[i] + "; flags: --rank R"
                        + " --peers h:p,h:p --secret-file F --sizes-mb 16,64,128 --iters 5 --warmup 1"
                        + " --chunk-kib 1024 --allreduce-dtype fp32|bf16 --link-gbit G --label L"
                        + " --overlap-buckets-mb B --io-timeout-s 120 --run-s D");
            }
        }
        if (peers == null || rank < 0 || secretFile == null) {
            throw new IllegalArgumentException("--rank, --peers and --secret-file are required in per-process mode");
        }
        if (iters < 1) {
            throw new IllegalArgumentException("Invalid value " + iters + " for flag --iters: must be at least 1");
        }
        byte[] secret = Files.readAllBytes(secretFile);
        int n = peers.size();
        AllReduceConfig config = new AllReduceConfig(rank, n, peers, secret, 0L, chunkKib << 10,
                AllReduceConfig.DEFAULT_MAX_FRAME_BYTES, Duration.ofMinutes(2), Duration.ofSeconds(ioTimeoutS),
                Clock.systemUTC());
        if (!"fp32".equals(dtype)) {
            config = WireDtypes.apply(config, dtype); // absent from rings that only speak fp32
        }
        int wireBytes = "bf16".equals(dtype) ? 2 : 4;
        long largest = (long) Arrays.stream(sizes).max().orElseThrow() * 1_000_000;
        ByteBuffer buffer = ByteBuffer.allocateDirect((int) largest).order(ByteOrder.LITTLE_ENDIAN);
        FloatBuffer f = buffer.asFloatBuffer();
        for (int i = 0; i < f.capacity(); i++) {
            f.put(i, rank + (i % 1000) * 1e-3f);
        }
        float[] sync = new float[1];
        try (RingAllReduce ring = RingAllReduce.bind(peers.get(rank))) {
            awaitListening(peers.get(config.rightRank()), Duration.ofMinutes(2));
            ring.connect(config);
            if (runS > 0) {
                runFor(ring, rank, buffer.slice(0, (int) largest).order(ByteOrder.LITTLE_ENDIAN), runS);
                return;
            }
            if (bucketMb > 0) {
                new Overlap(ring, buffer, bucketMb).run(rank, n, sizes, iters, warmup);
                return;
            }
            long step = 0;
            for (int mb : sizes) {
                int bytes = (int) ((long) mb * 1_000_000 / Float.BYTES * Float.BYTES);
                long[] times = new long[iters];
                for (int it = -warmup; it < iters; it++) {
                    ring.allReduceMean(sync, step++);
                    long t0 = System.nanoTime();
                    ring.allReduceMean(buffer.slice(0, bytes).order(ByteOrder.LITTLE_ENDIAN), step++);
                    long t = System.nanoTime() - t0;
                    if (it >= 0) {
                        times[it] = t;
                    }
                }
                if (rank == 0) {
                    report(label, dtype, n, mb, bytes, times, wireBytes, linkGbit);
                }
            }
        }
    }

    /**
     * All-reduces back to back for {@code seconds}, printing each one's time (every rank), or the error that ends
     * it: what a rank sees when its link is cut for a while.
     */
    private static void runFor(RingAllReduce ring, int rank, ByteBuffer data, int seconds) {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        long t00 = System.nanoTime();
        for (long step = 0; System.nanoTime() < end; step++) {
            long t0 = System.nanoTime();
            try {
                ring.allReduceMean(data, step);
            } catch (AllReduceException e) {
                System.out.printf("rank %d at %.1f s: step %d failed after %.1f s: %s%n", rank,
                        (System.nanoTime() - t00) / 1e9, step, (System.nanoTime() - t0) / 1e9, e.getMessage());
                System.exit(1);
            }
            System.out.printf("rank %d at %.1f s: step %d took %.0f ms%n", rank, (System.nanoTime() - t00) / 1e9, step,
                    (System.nanoTime() - t0) / 1e6);
        }
    }

    private static void report(String label, String dtype, int n, int mb, long bytes, long[] times, int wireBytes,
                               double linkGbit) {
        long[] sorted = times.clone();
        Arrays.sort(sorted);
        double sec = sorted[sorted.length / 2] / 1e9;
        double busbw = bytes / sec * 2 * (n - 1) / n;
        double wire = busbw * wireBytes / Float.BYTES;
        String bound = linkGbit > 0
                ? String.format(" = %.1f%% of the link bound (%.3g Gbit/s)", 100 * busbw / (linkGbit * 1e9 / 8),
                linkGbit) : "";
        System.out.printf("%s %s %d ranks %d MB: time %.1f ms (min %.1f, max %.1f of %d), busbw %.3f GB/s%s;"
                        + " wire busbw %.3f GB/s; load %.2f%n", label, dtype, n, mb, sec * 1e3, sorted[0] / 1e6,
                sorted[sorted.length - 1] / 1e6, times.length, busbw / 1e9, bound, wire / 1e9,
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    /**
     * Waits until the right neighbour's listener accepts connections (the probe is refused by its handshake, which
     * goes on waiting), so that rings which do not retry a refused connect can be measured as baselines too.
     */
    private static void awaitListening(InetSocketAddress peer, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try (java.net.Socket s = new java.net.Socket()) {
                s.connect(peer, 1000);
                return;
            } catch (java.io.IOException e) {
                if (System.nanoTime() > deadline) {
                    throw new java.io.IOException("rank at " + peer + " did not listen within " + timeout, e);
                }
                Thread.sleep(200);
            }
        }
    }

    private static List<InetSocketAddress> parsePeers(String value) {
        List<InetSocketAddress> peers = new ArrayList<>();
        for (String p : value.split(",")) {
            int colon = p.lastIndexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("Invalid peer " + p + " in --peers: expected host:port");
            }
            peers.add(new InetSocketAddress(p.substring(0, colon), Integer.parseInt(p.substring(colon + 1))));
        }
        return peers;
    }

    /** The overlap mode (see the class comment). */
    private static final class Overlap {
        private static final int BLOCK = 16 << 10;
        private final RingAllReduce ring;
        private final ByteBuffer buffer;
        private final int bucketFloats;
        private final float[] params;
        private final float[] m;
        private final float[] v;
        private final float[] g = new float[BLOCK];
        private long step;

        Overlap(RingAllReduce ring, ByteBuffer buffer, int bucketMb) {
            this.ring = ring;
            this.buffer = buffer;
            this.bucketFloats = bucketMb * 1_000_000 / Float.BYTES;
            int floats = buffer.capacity() / Float.BYTES;
            params = new float[floats];
            m = new float[floats];
            v = new float[floats];
            Arrays.fill(params, 0.01f);
        }

        void run(int rank, int n, int[] sizes, int iters, int warmup) throws IOException {
            float[] sync = new float[1];
            for (int mb : sizes) {
                int floats = mb * 1_000_000 / Float.BYTES;
                ByteBuffer data = buffer.slice(0, floats * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                FloatBuffer grads = data.asFloatBuffer();
                int[] ends = bucketEnds(floats);
                long[][] t = new long[4][iters];
                for (int it = -warmup; it < iters; it++) {
                    long[] one = new long[4];
                    ring.allReduceMean(sync, step++);
                    long t0 = System.nanoTime();
                    ring.allReduceMean(data, step++);
                    one[0] = System.nanoTime() - t0;
                    t0 = System.nanoTime();
                    adamW(grads, 0, floats);
                    one[1] = System.nanoTime() - t0;
                    ring.allReduceMean(sync, step++);
                    t0 = System.nanoTime();
                    ring.allReduceMean(data, step++);
                    adamW(grads, 0, floats);
                    one[2] = System.nanoTime() - t0;
                    ring.allReduceMean(sync, step++);
                    t0 = System.nanoTime();
                    ring.allReduceMean(data, step++, ends, (bucket, from, to) -> adamW(grads, from, to));
                    one[3] = System.nanoTime() - t0;
                    for (int k = 0; k < 4 && it >= 0; k++) {
                        t[k][it] = one[k];
                    }
                }
                if (rank == 0) {
                    double a = median(t[0]);
                    double o = median(t[1]);
                    double seq = median(t[2]);
                    double p = median(t[3]);
                    System.out.printf("overlap %d ranks %d MB, %d buckets: all-reduce %.1f ms, optimiser %.1f ms,"
                                    + " sequential %.1f ms, bucketed with the optimiser in callbacks %.1f ms"
                                    + " = %.2f x max(all-reduce, optimiser), %.0f%% of sequential; load %.2f%n",
                            n, mb, ends.length, a / 1e6, o / 1e6, seq / 1e6, p / 1e6, p / Math.max(a, o),
                            100 * p / seq, ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
                }
            }
        }

        private int[] bucketEnds(int floats) {
            int buckets = Math.max(1, (floats + bucketFloats - 1) / bucketFloats);
            int[] ends = new int[buckets];
            for (int b = 0; b < buckets; b++) {
                ends[b] = (int) ((long) floats * (b + 1) / buckets);
            }
            return ends;
        }

        /** One AdamW step (lr 1e-4, betas 0.9/0.999, eps 1e-8, weight decay 0.05) over floats [from, to). */
        private void adamW(FloatBuffer grads, int from, int to) {
            for (int s = from; s < to; s += BLOCK) {
                int len = Math.min(BLOCK, to - s);
                grads.get(s, g, 0, len);
                for (int i = 0; i < len; i++) {
                    int j = s + i;
                    float gi = g[i];
                    m[j] = 0.9f * m[j] + 0.1f * gi;
                    v[j] = 0.999f * v[j] + 0.001f * gi * gi;
                    params[j] -= 1e-4f * (m[j] / ((float) Math.sqrt(v[j]) + 1e-8f) + 0.05f * params[j]);
                }
            }
        }

        private static double median(long[] values) {
            long[] sorted = values.clone();
            Arrays.sort(sorted);
            return sorted[sorted.length / 2];
        }
    }

    /** The one call that needs a ring with wire dtypes; kept apart so the rest compiles against older rings. */
    private static final class WireDtypes {
        static AllReduceConfig apply(AllReduceConfig c, String dtype) {
            return c.withWireDtype(WireDtype.parse(dtype, "--allreduce-dtype"));
        }
    }
}
