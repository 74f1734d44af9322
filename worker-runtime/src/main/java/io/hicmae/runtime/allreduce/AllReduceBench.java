package io.hicmae.runtime.allreduce;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Benchmarks {@link RingAllReduce} alone: n ranks as threads of this JVM on loopback, buffers from 1 MB to the
 * base model's 398 MB of fp32 gradients. Prints a Markdown table with NCCL's definitions
 * ({@code algbw = bytes / time}, {@code busbw = algbw * 2(n-1)/n}) beside the ring's bound on the same link: a
 * raw socket copy measured in the same run, where every rank sends the all-reduce's per-rank volume
 * {@code 2(n-1)/n * bytes} to its right neighbour while receiving as much from its left, with no framing and no
 * arithmetic. Its bandwidth is the highest busbw a ring can reach on these links with all of them busy at once.
 * Besides the ratio of the medians the table gives the ratio of the fastest runs, the least disturbed by other
 * processes on a shared machine.
 * Both run one sending and one receiving thread per rank. The CPU columns give this JVM's CPU time during each
 * run: on loopback the links are CPU copies, so a machine with fewer cores than busy threads is CPU-bound. Two
 * columns say how much: the ring's reduction alone (every rank's adds of one all-reduce, timed on one thread over
 * the same buffers, with the ring's own {@link BlockAdder}), and the CPU ceiling, the highest busbw / raw the
 * all-reduce's CPU time allows when spread over all cores ({@code raw time / (all-reduce CPU / cores)}). A second
 * bound adds the arithmetic a ring cannot skip: the same raw copy, where each receiver also adds its reduce-scatter
 * share ({@code (n-1)/n * bytes}) into its buffer block by block, still without framing or protocol.
 *
 * <p>Flags: {@code --ranks 2,4 --max-mb 398 --iters 5 --warmup 1 --chunk-kib 4096}; with {@code --rank} this JVM
 * is one rank of a ring of processes instead ({@link AllReduceProcessBench}). MB is 10^6 bytes and GB/s
 * is 10^9 bytes per second, as in NCCL's tests.
 */
public final class AllReduceBench {
    private static final int[] SIZES_MB = {1, 4, 16, 64, 128, 256, 398};
    private static final byte[] SECRET = "all-reduce-bench-secret".getBytes(StandardCharsets.UTF_8);
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();

    private final int iters;
    private final int warmup;
    private final int chunkBytes;

    private AllReduceBench(int iters, int warmup, int chunkBytes) {
        this.iters = iters;
        this.warmup = warmup;
        this.chunkBytes = chunkBytes;
    }

    public static void main(String[] args) throws Exception {
        if (Arrays.asList(args).contains("--rank")) {
            AllReduceProcessBench.main(args); // one rank per process: --rank, --peers, --secret-file
            return;
        }
        int[] ranks = {2, 4};
        int maxMb = 398;
        int iters = 5;
        int warmup = 1;
        int chunkKib = AllReduceConfig.DEFAULT_CHUNK_BYTES >> 10;
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : null;
            switch (args[i]) {
                case "--ranks" -> ranks = Arrays.stream(require(value, "--ranks").split(","))
                        .mapToInt(Integer::parseInt).toArray();
                case "--max-mb" -> maxMb = Integer.parseInt(require(value, "--max-mb"));
                case "--iters" -> iters = Integer.parseInt(require(value, "--iters"));
                case "--warmup" -> warmup = Integer.parseInt(require(value, "--warmup"));
                case "--chunk-kib" -> chunkKib = Integer.parseInt(require(value, "--chunk-kib"));
                default -> throw new IllegalArgumentException("Unknown flag " + args[i]
                        + "; flags: --ranks 2,4 --max-mb 398 --iters 5 --warmup 1 --chunk-kib 4096");
            }
            i++;
        }
        if (iters < 1) {
            throw new IllegalArgumentException("Invalid value " + iters + " for flag --iters: must be at least 1");
        }
        AllReduceBench bench = new AllReduceBench(iters, warmup, chunkKib << 10);
        System.out.printf("# Ring all-reduce on loopback, %s%n%n", LocalDate.now());
        System.out.printf("%d CPU cores, Java %s, %s %s; ranks are threads of one JVM; chunk %d KiB;"
                        + " time is the median of %d runs after %d warm-up, from a common start to the last rank's"
                        + " finish.%n", Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                System.getProperty("os.name"), System.getProperty("os.version"), chunkKib, iters, warmup);
        for (int n : ranks) {
            bench.run(n, maxMb);
        }
    }

    private static String require(String value, String flag) {
        if (value == null) {
            throw new IllegalArgumentException("Missing value for flag " + flag);
        }
        return value;
    }

    private void run(int n, int maxMb) throws Exception {
        int[] sizes = Arrays.stream(SIZES_MB).filter(mb -> mb <= maxMb).toArray();
        long largest = (long) sizes[sizes.length - 1] * 1_000_000;
        System.out.printf("%n## %d ranks%n%nLoad average from all processes on this machine at the start: %.2f%n%n", n,
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        System.out.println("| size MB | time ms | algbw GB/s | busbw GB/s | raw ring copy GB/s | busbw / raw"
                + " | busbw / raw, fastest runs | CPU ms all-reduce | CPU ms raw copy | CPU ms reduction alone"
                + " | CPU ceiling of busbw / raw | raw copy + reduction GB/s | busbw / (raw copy + reduction) |");
        System.out.println("|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
        ExecutorService pool = Executors.newFixedThreadPool(2 * n);
        List<RingAllReduce> rings = new ArrayList<>();
        try (RawRing raw = new RawRing(n, chunkBytes)) {
            // Direct little-endian bytes, as the trainer's gradient buffer: the ring sends from them and receives into them.
            List<ByteBuffer> buffers = new ArrayList<>();
            for (int r = 0; r < n; r++) {
                rings.add(RingAllReduce.bind(LOOPBACK));
                ByteBuffer b = ByteBuffer.allocateDirect((int) largest).order(ByteOrder.LITTLE_ENDIAN);
                FloatBuffer f = b.asFloatBuffer();
                for (int i = 0; i < f.capacity(); i++) {
                    f.put(i, r + i * 1e-6f);
                }
                buffers.add(b);
            }
            List<InetSocketAddress> peers = rings.stream().map(RingAllReduce::localAddress).toList();
            onEveryRank(pool, n, r -> {
                rings.get(r).connect(new AllReduceConfig(r, n, peers, SECRET, 0L, chunkBytes,
                        AllReduceConfig.DEFAULT_MAX_FRAME_BYTES, Duration.ofMinutes(1), Duration.ofMinutes(1),
                        Clock.systemUTC()));
                return 0L;
            });
            long step = 0;
            for (int mb : sizes) {
                int floats = (int) ((long) mb * 1_000_000 / Float.BYTES);
                long bytes = (long) floats * Float.BYTES;
                long perRank = bytes * 2 * (n - 1) / n;
                long[] times = new long[iters];
                long[] cpu = new long[iters];
                long[] rawTimes = new long[iters];
                long[] rawCpu = new long[iters];
                long[] addCpu = new long[iters];
                long[] rawAddTimes = new long[iters];
                // All-reduce and raw copies alternate, so that all see the same load from other processes.
                for (int it = -warmup; it < iters; it++) {
                    long s = step++;
                    Timing t = timed(pool, n, r -> rings.get(r).allReduceMean(
                            buffers.get(r).slice(0, (int) bytes).order(ByteOrder.LITTLE_ENDIAN), s));
                    Timing tRaw = raw.copy(pool, perRank);
                    Timing tRawAdd = raw.copy(pool, perRank, buffers, (int) ((long) floats * (n - 1) / n));
                    long tAdd = reductionCpuNanos(buffers, floats);
                    if (it >= 0) {
                        addCpu[it] = tAdd;
                        rawAddTimes[it] = tRawAdd.wallNanos();
                        times[it] = t.wallNanos();
                        cpu[it] = t.cpuNanos();
                        rawTimes[it] = tRaw.wallNanos();
                        rawCpu[it] = tRaw.cpuNanos();
                    }
                }
                double rawBw = perRank / seconds(median(rawTimes));
                double sec = seconds(median(times));
                double algbw = bytes / sec;
                double busbw = algbw * 2 * (n - 1) / n;
                // Both move perRank bytes per rank, so busbw / raw is the inverse ratio of their times.
                double fastest = (double) Arrays.stream(rawTimes).min().orElseThrow()
                        / Arrays.stream(times).min().orElseThrow();
                double ceiling = (double) median(rawTimes) / median(cpu) * Runtime.getRuntime().availableProcessors();
                double rawAddBw = perRank / seconds(median(rawAddTimes));
                System.out.printf("| %d | %.1f | %.2f | %.2f | %.2f | %.0f%% | %.0f%% | %.0f | %.0f | %.0f | %.0f%%"
                                + " | %.2f | %.0f%% |%n",
                        mb, sec * 1e3, algbw / 1e9, busbw / 1e9, rawBw / 1e9, 100 * busbw / rawBw, 100 * fastest,
                        median(cpu) / 1e6, median(rawCpu) / 1e6, median(addCpu) / 1e6, 100 * ceiling,
                        rawAddBw / 1e9, 100 * busbw / rawAddBw);
            }
        } finally {
            for (RingAllReduce ring : rings) {
                ring.close();
            }
            pool.shutdownNow();
        }
    }

    /**
     * CPU time of the reduction of one all-reduce, on this thread: each rank's {@code (n-1)/n * floats} adds of a
     * received block (a reused 64 KiB scratch, as in the ring) into its own buffer, the last segment as a mean.
     */
    private static long reductionCpuNanos(List<ByteBuffer> buffers, int floats) {
        int n = buffers.size();
        BlockAdder adder = new BlockAdder(BlockAdder.MAX_BLOCK_FLOATS);
        FloatBuffer received = ByteBuffer.allocateDirect(adder.blockFloats() * Float.BYTES)
                .order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer();
        // Ones, not zeros: a mean with zeros would halve the buffer every run, down to slow subnormal floats.
        for (int i = 0; i < received.capacity(); i++) {
            received.put(i, 1f);
        }
        int end = (int) ((long) floats * (n - 1) / n);
        int lastSegment = (int) ((long) floats * (n - 2) / n);
        long cpu0 = THREADS.getCurrentThreadCpuTime();
        for (ByteBuffer buffer : buffers) {
            FloatBuffer data = buffer.asFloatBuffer();
            for (int offset = 0; offset < end; offset += adder.blockFloats()) {
                int len = Math.min(adder.blockFloats(), end - offset);
                adder.add(data, offset, received, 0, len, offset >= lastSegment, n);
            }
        }
        return THREADS.getCurrentThreadCpuTime() - cpu0;
    }

    /**
     * The bound: n plain loopback connections in a ring, each rank with a writer and a reader thread (blocking
     * channels, no framing, no arithmetic).
     */
    private static final class RawRing implements AutoCloseable {
        private final int n;
        private final List<AutoCloseable> channels = new ArrayList<>();
        private final List<SocketChannel> out = new ArrayList<>();
        private final List<SocketChannel> in = new ArrayList<>();
        private final List<ByteBuffer> sendBufs = new ArrayList<>();
        private final List<ByteBuffer> recvBufs = new ArrayList<>();

        RawRing(int n, int chunkBytes) throws IOException {
            this.n = n;
            try {
                List<ServerSocketChannel> servers = new ArrayList<>();
                for (int r = 0; r < n; r++) {
                    servers.add(ServerSocketChannel.open().bind(LOOPBACK));
                    channels.add(servers.get(r));
                }
                for (int r = 0; r < n; r++) {
                    out.add(SocketChannel.open(servers.get((r + 1) % n).getLocalAddress()));
                    channels.add(out.get(r));
                    out.get(r).setOption(StandardSocketOptions.TCP_NODELAY, true); // as the ring's links
                }
                for (int r = 0; r < n; r++) {
                    in.add(servers.get(r).accept());
                    channels.add(in.get(r));
                    sendBufs.add(ByteBuffer.allocateDirect(chunkBytes));
                    recvBufs.add(ByteBuffer.allocateDirect(chunkBytes));
                }
            } catch (IOException e) {
                close();
                throw e;
            }
        }

        /** Every rank sends {@code bytesPerRank} to the right while receiving as much. */
        Timing copy(ExecutorService pool, long bytesPerRank) throws Exception {
            return copy(pool, bytesPerRank, null, 0);
        }

        /**
         * As {@link #copy(ExecutorService, long)}, but each receiver adds the first {@code reduceFloats} floats it
         * receives into its rank's buffer ({@code data}), 64 KiB block by block with the ring's {@link BlockAdder},
         * as a reduce-scatter must: the bound for a ring that moves the bytes and does the required arithmetic and
         * nothing else.
         */
        Timing copy(ExecutorService pool, long bytesPerRank, List<ByteBuffer> data, int reduceFloats)
                throws Exception {
            // Tasks 0..n-1 send, n..2n-1 receive.
            return timed(pool, 2 * n, task -> {
                int r = task % n;
                ByteBuffer b = task < n ? sendBufs.get(r) : recvBufs.get(r);
                long left = bytesPerRank;
                if (task >= n && data != null) {
                    left -= reduceInto(in.get(r), data.get(r).asFloatBuffer(), reduceFloats);
                }
                while (left > 0) {
                    b.clear().limit((int) Math.min(b.capacity(), left));
                    left -= task < n ? out.get(r).write(b) : read(in.get(r), b);
                }
            });
        }

        private static long reduceInto(SocketChannel ch, FloatBuffer data, int floats) throws IOException {
            BlockAdder adder = new BlockAdder(BlockAdder.MAX_BLOCK_FLOATS);
            ByteBuffer block = ByteBuffer.allocateDirect(adder.blockFloats() * Float.BYTES)
                    .order(ByteOrder.LITTLE_ENDIAN);
            FloatBuffer received = block.asFloatBuffer();
            for (int offset = 0; offset < floats; offset += adder.blockFloats()) {
                int len = Math.min(adder.blockFloats(), floats - offset);
                block.clear().limit(len * Float.BYTES);
                while (block.hasRemaining()) {
                    read(ch, block);
                }
                adder.add(data, offset, received, 0, len, false, 1);
            }
            return (long) floats * Float.BYTES;
        }

        @Override
        public void close() throws IOException {
            for (AutoCloseable c : channels) {
                try {
                    c.close();
                } catch (Exception e) {
                    throw new IOException(e);
                }
            }
        }
    }

    private static int read(SocketChannel ch, ByteBuffer b) throws IOException {
        int n = ch.read(b);
        if (n < 0) {
            throw new IOException("raw copy: peer closed early");
        }
        return n;
    }

    private interface RankTask {
        void run(int rank) throws Exception;
    }

    private interface RankCall {
        long call(int rank) throws Exception;
    }

    /**
     * Wall time from the common start to the last task's finish, and the CPU time of this JVM meanwhile (the
     * ranks' sender threads included; the bench runs nothing else).
     */
    private record Timing(long wallNanos, long cpuNanos) {
    }

    /** Runs the task on every rank from a common start. */
    private static Timing timed(ExecutorService pool, int tasks, RankTask task) throws Exception {
        CyclicBarrier start = new CyclicBarrier(tasks);
        long[] ends = new long[tasks];
        long[] starts = new long[tasks];
        long cpu0 = processCpuNanos();
        onEveryRank(pool, tasks, r -> {
            start.await();
            starts[r] = System.nanoTime();
            task.run(r);
            ends[r] = System.nanoTime();
            return 0L;
        });
        return new Timing(Arrays.stream(ends).max().orElseThrow() - Arrays.stream(starts).min().orElseThrow(),
                processCpuNanos() - cpu0);
    }

    /**
     * CPU time of this JVM's live threads, to the nanosecond (the process total moves in 10 ms ticks, too coarse for
     * the small sizes); threads live across the runs, so differences count all the work.
     */
    private static long processCpuNanos() {
        long sum = 0;
        for (long t : THREADS.getThreadCpuTime(THREADS.getAllThreadIds())) {
            sum += Math.max(t, 0);
        }
        return sum;
    }

    private static void onEveryRank(ExecutorService pool, int tasks, RankCall call) throws Exception {
        List<Future<Long>> futures = new ArrayList<>();
        for (int r = 0; r < tasks; r++) {
            int rank = r;
            futures.add(pool.submit(() -> call.call(rank)));
        }
        for (Future<Long> f : futures) {
            try {
                f.get();
            } catch (ExecutionException e) {
                throw e.getCause() instanceof Exception c ? c : e;
            }
        }
    }

    private static long median(long[] values) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }

    private static double seconds(long nanos) {
        return nanos / 1e9;
    }
}
