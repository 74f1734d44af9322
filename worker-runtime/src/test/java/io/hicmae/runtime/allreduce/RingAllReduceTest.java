package io.hicmae.runtime.allreduce;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.DataInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** Ranks are threads on 127.0.0.1 with ephemeral ports; fake peers speak the wire protocol with plain sockets. */
class RingAllReduceTest {
    private static final byte[] SECRET = "job-secret-for-tests-only".getBytes(StandardCharsets.UTF_8);
    private static final long LAYOUT = 0x1234_5678_9abc_def0L;
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
    private static final Duration CONNECT = Duration.ofSeconds(20);
    private static final Duration SHORT_IO = Duration.ofMillis(500);
    /** Generous bound on how long any rank may take in a test that must not hang. */
    private static final long JOIN_SECONDS = 60;

    static Stream<Arguments> ringShapes() {
        List<Arguments> cases = new ArrayList<>();
        for (int n = 1; n <= 4; n++) {
            for (int count : new int[] {0, 1, 7, n - 1, n + 1, 1000}) {
                cases.add(Arguments.of(n, count, 8));   // 2-float chunks: many frames per segment
            }
            cases.add(Arguments.of(n, 3_000_001, 256 << 10));
            // Neither a multiple of the ranks nor of the chunk: short last chunks in segments of unequal length.
            cases.add(Arguments.of(n, n * 3 * 1024 + 5, 4096));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} ranks, {1} floats, {2}-byte chunks")
    @MethodSource("ringShapes")
    void everyRankEndsWithTheSameMean(int n, int count, int chunkBytes) throws Exception {
        float[][] inputs = randomInputs(n, count, 17L * n + count);
        float[] mean = mean(inputs);
        List<RingAllReduce> rings = bindAll(n);
        List<InetSocketAddress> peers = addresses(rings);
        List<float[]> results = onEveryRank(n, r -> {
            try (RingAllReduce ring = rings.get(r)) {
                ring.connect(config(r, peers, SHORT_IO.multipliedBy(20)).withFrames(chunkBytes, 1 << 20));
                return reduce(ring, r, inputs[r], 0);
            }
        });
        for (int r = 0; r < n; r++) {
            assertMeanWithin(mean, results.get(r), r);
            assertArrayEquals(results.get(0), results.get(r), "rank " + r + " differs from rank 0 in some bits");
        }
    }

    /**
     * bf16 on the wire: every rank ends with the same bits, each within bf16 rounding of the exact mean (each value
     * is rounded at most once per hop plus once at the end, relative 2^-8 each), and a NaN sent by one rank arrives.
     */
    @ParameterizedTest(name = "bf16 wire, {0} ranks")
    @org.junit.jupiter.params.provider.ValueSource(ints = {2, 3, 4})
    void bf16WireGivesEveryRankTheSameRoundedMean(int n) throws Exception {
        int count = 50_003;
        float[][] inputs = randomInputs(n, count, 41L * n);
        inputs[n - 1][123] = Float.NaN;
        float[] mean = mean(inputs);
        List<RingAllReduce> rings = bindAll(n);
        List<InetSocketAddress> peers = addresses(rings);
        List<float[]> results = onEveryRank(n, r -> {
            try (RingAllReduce ring = rings.get(r)) {
                ring.connect(config(r, peers, SHORT_IO.multipliedBy(20)).withFrames(4096, 1 << 20)
                        .withWireDtype(WireDtype.BF16));
                return reduce(ring, r, inputs[r], 0);
            }
        });
        for (int r = 0; r < n; r++) {
            assertArrayEquals(results.get(0), results.get(r), "rank " + r + " differs from rank 0 in some bits");
        }
        float[] out = results.get(0);
        assertTrue(Float.isNaN(out[123]), "the NaN was lost on the bf16 wire: " + out[123]);
        double sumAbs = 0;
        for (float[] in : inputs) {
            for (int i = 0; i < count; i++) {
                if (i != 123) {
                    sumAbs += Math.abs(in[i]);
                }
            }
        }
        for (int i = 0; i < count; i++) {
            if (i == 123) {
                continue;
            }
            double scale = 0;
            for (float[] in : inputs) {
                scale += Math.abs(in[i]);
            }
            double tolerance = (n + 1) * 0x1p-8 * scale + 1e-30;
            assertTrue(Math.abs(out[i] - mean[i]) <= tolerance, "index " + i + ": " + out[i] + " vs mean " + mean[i]);
            assertEquals(out[i], Bf16.round(out[i]), "index " + i + " is not a bf16 value");
        }
        assertTrue(sumAbs > 0);
    }

    @Test
    void ranksWithDifferentWireDtypesRefuseEachOther() throws Exception {
        List<RingAllReduce> rings = bindAll(2);
        List<InetSocketAddress> peers = addresses(rings);
        List<Exception> errors = onEveryRank(2, r -> {
            try (RingAllReduce ring = rings.get(r)) {
                AllReduceConfig c = config(r, peers, SHORT_IO).withWireDtype(r == 0 ? WireDtype.FP32 : WireDtype.BF16);
                return assertThrows(AllReduceException.class, () -> ring.connect(c));
            }
        });
        assertContains(errors.get(0).getMessage(), "wire dtype bf16 differs from this rank's fp32");
    }

    /**
     * Buckets: the result equals the plain mean, each rank's listener sees every bucket once, in order, with its
     * range; and the wire goes on while a callback runs: rank 0's first callback waits until rank 1 has finished
     * the last bucket, which it could not if rank 0 reduced its next bucket only after its callback returned.
     */
    @Test
    void bucketsAreHandedOverInOrderWhileLaterBucketsAreOnTheWire() throws Exception {
        int n = 2;
        int count = 30_001;
        int[] ends = {7_000, 7_001, 20_000, count};
        float[][] inputs = randomInputs(n, count, 77);
        float[] mean = mean(inputs);
        List<RingAllReduce> rings = bindAll(n);
        List<InetSocketAddress> peers = addresses(rings);
        java.util.concurrent.CountDownLatch lastBucketOnRank1 = new java.util.concurrent.CountDownLatch(1);
        List<List<String>> seen = onEveryRank(n, r -> {
            try (RingAllReduce ring = rings.get(r)) {
                ring.connect(config(r, peers, SHORT_IO.multipliedBy(20)).withFrames(4096, 1 << 20));
                ByteBuffer b = ByteBuffer.allocateDirect(count * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(inputs[r]);
                List<String> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
                ring.allReduceMean(b, 0, ends, (bucket, from, to) -> {
                    calls.add(bucket + ":" + from + "-" + to + " on " + Thread.currentThread().getName());
                    if (r == 1 && bucket == ends.length - 1) {
                        lastBucketOnRank1.countDown();
                    }
                    if (r == 0 && bucket == 0) {
                        try {
                            assertTrue(lastBucketOnRank1.await(JOIN_SECONDS, TimeUnit.SECONDS),
                                    "rank 1 never finished its last bucket while rank 0's first callback ran");
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                });
                float[] out = new float[count];
                b.asFloatBuffer().get(out);
                assertMeanWithin(mean, out, r);
                return calls;
            }
        });
        for (int r = 0; r < n; r++) {
            List<String> calls = seen.get(r);
            assertEquals(ends.length, calls.size(), calls.toString());
            for (int k = 0; k < ends.length; k++) {
                assertTrue(calls.get(k).startsWith(k + ":" + (k == 0 ? 0 : ends[k - 1]) + "-" + ends[k] + " on ring-"),
                        calls.toString());
            }
        }
    }

    @Test
    void aFailingCallbackIsRethrownAfterEveryBucketAndTheRingStaysUsable() throws Exception {
        int n = 2;
        List<RingAllReduce> rings = bindAll(n);
        List<InetSocketAddress> peers = addresses(rings);
        float[][] inputs = randomInputs(n, 1000, 9);
        List<float[]> results = onEveryRank(n, r -> {
            try (RingAllReduce ring = rings.get(r)) {
                ring.connect(config(r, peers, SHORT_IO.multipliedBy(20)));
                ByteBuffer b = ByteBuffer.allocateDirect(1000 * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                b.asFloatBuffer().put(inputs[r]);
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> ring.allReduceMean(b, 0, new int[] {400, 1000}, (bucket, from, to) -> {
                            if (bucket == 0) {
                                throw new IllegalStateException("optimiser failed on bucket 0");
                            }
                        }));
                assertEquals("optimiser failed on bucket 0", e.getMessage());
                float[] out = new float[1000];
                b.asFloatBuffer().get(out);
                assertMeanWithin(mean(inputs), out, r);
                return reduce(ring, r, inputs[r], 1);
            }
        });
        assertMeanWithin(mean(inputs), results.get(0), 0);
        assertArrayEquals(results.get(0), results.get(1));
    }

    @Test
    void rejectsBucketEndsThatDoNotCoverTheBuffer() throws Exception {
        try (RingAllReduce ring = RingAllReduce.bind(LOOPBACK)) {
            ring.connect(config(0, List.of(ring.localAddress()), SHORT_IO));
            ByteBuffer b = ByteBuffer.allocateDirect(40).order(ByteOrder.LITTLE_ENDIAN);
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> ring.allReduceMean(b, 0, new int[] {5, 9}, (k, f, t) -> { })).getMessage(),
                    "the last must be the buffer's float count 10");
            assertContains(assertThrows(IllegalArgumentException.class,
                    () -> ring.allReduceMean(b, 0, new int[] {5, 5, 10}, (k, f, t) -> { })).getMessage(),
                    "strictly increasing");
            List<String> calls = new ArrayList<>();
            ring.allReduceMean(b, 0, new int[] {5, 10}, (k, f, t) -> calls.add(k + ":" + f + "-" + t));
            assertEquals(List.of("0:0-5", "1:5-10"), calls, "a world of one still hands every bucket over");
        }
    }

    @Test
    void reusesLinksAcrossSteps() throws Exception {
        int n = 3;
        int steps = 5;
        List<RingAllReduce> rings = bindAll(n);
        List<InetSocketAddress> peers = addresses(rings);
        float[][][] inputs = new float[steps][][];
        for (int s = 0; s < steps; s++) {
            inputs[s] = randomInputs(n, 10_000 + s, s);
        }
        List<List<float[]>> results = onEveryRank(n, r -> {
            try (RingAllReduce ring = rings.get(r)) {
                ring.connect(config(r, peers, SHORT_IO.multipliedBy(20)).withFrames(4096, 4096));
                List<float[]> perStep = new ArrayList<>();
                for (int s = 0; s < steps; s++) {
                    perStep.add(reduce(ring, r, inputs[s][r], s));
                }
                return perStep;
            }
        });
        for (int s = 0; s < steps; s++) {
            float[] mean = mean(inputs[s]);
            for (int r = 0; r < n; r++) {
                assertMeanWithin(mean, results.get(r).get(s), r);
            }
        }
    }

    @Test
    void refusesPeersWithoutTheSecretWhileRealRanksComplete() throws Exception {
        int n = 2;
        List<RingAllReduce> rings = bindAll(n);
        List<InetSocketAddress> peers = addresses(rings);
        // Both intruders reach rank 1's listener before rank 0 does: one answers with the wrong secret, one says
        // nothing at all.
        CompletableFuture<Integer> wrongSecret = CompletableFuture.supplyAsync(() -> {
            try (Socket s = new Socket(peers.get(1).getAddress(), peers.get(1).getPort())) {
                byte[] nonceA = Handshake.readHello(readExactly(s, Handshake.HELLO_BYTES));
                byte[] forged = "not-the-job-secret-at-all".getBytes(StandardCharsets.UTF_8);
                write(s, Handshake.auth(forged, nonceA, Handshake.Identity.of(config(0, peers, SHORT_IO), 0),
                        Handshake.newNonce()));
                return s.getInputStream().read();
            } catch (IOException e) {
                return -2; // a reset is a refusal too
            }
        });
        try (Socket silent = new Socket(peers.get(1).getAddress(), peers.get(1).getPort())) {
            float[][] inputs = randomInputs(n, 1000, 3);
            List<float[]> results = onEveryRank(n, r -> {
                try (RingAllReduce ring = rings.get(r)) {
                    if (r == 0) {
                        assertTrue(wrongSecret.get(JOIN_SECONDS, TimeUnit.SECONDS) < 0, "intruder was not refused");
                    }
                    ring.connect(config(r, peers, SHORT_IO.multipliedBy(20)));
                    return reduce(ring, r, inputs[r], 0);
                }
            });
            assertMeanWithin(mean(inputs), results.get(0), 0);
            assertMeanWithin(mean(inputs), results.get(1), 1);
            byte[] heard = silent.getInputStream().readAllBytes();
            assertEquals(Handshake.HELLO_BYTES, heard.length, "the silent intruder should get a hello, then EOF");
        }
    }

    @Test
    void silentPeerFailsTheOthersWithinTheDeadlineNamingIt() throws Exception {
        int n = 3;
        List<RingAllReduce> rings = bindAll(n - 1);
        try (FakePeer fake = new FakePeer()) {
            List<InetSocketAddress> peers = List.of(rings.get(0).localAddress(), rings.get(1).localAddress(),
                    fake.address());
            CompletableFuture<Void> handshake = fake.handshakeAsync(config(2, peers, SHORT_IO));
            List<Exception> errors = onEveryRank(n - 1, r -> {
                try (RingAllReduce ring = rings.get(r)) {
                    ring.connect(config(r, peers, SHORT_IO));
                    long start = System.nanoTime();
                    Exception e = assertThrows(AllReduceException.class,
                            () -> ring.allReduceMean(new float[1000], 4));
                    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    assertTrue(millis < SHORT_IO.toMillis() + 2000, "rank " + r + " failed after " + millis + " ms");
                    return e;
                }
            });
            handshake.get(JOIN_SECONDS, TimeUnit.SECONDS);
            String silent = "rank 2 at " + fake.address().getHostString() + ":" + fake.address().getPort();
            assertContains(errors.get(0).getMessage(), "rank 0, step 4: timed out after 500 ms", silent);
            assertContains(errors.get(1).getMessage(), "rank 1, step 4");
        }
    }

    @Test
    void clockPastTheDeadlineFailsWithoutWaitingItOut() throws Exception {
        MovableClock clock = new MovableClock();
        Duration hour = Duration.ofHours(1);
        try (RingAllReduce ring = RingAllReduce.bind(LOOPBACK); FakePeer fake = new FakePeer()) {
            List<InetSocketAddress> peers = List.of(ring.localAddress(), fake.address());
            CompletableFuture<Void> handshake = fake.handshakeAsync(config(1, peers, hour));
            ring.connect(config(0, peers, hour).withTimeouts(CONNECT, hour, clock));
            handshake.get(JOIN_SECONDS, TimeUnit.SECONDS);
            CompletableFuture<Exception> failed = CompletableFuture.supplyAsync(
                    () -> assertThrows(AllReduceException.class, () -> ring.allReduceMean(new float[100], 9)));
            fake.readFrameHeader(); // rank 0 is past its first send, so its receive deadline is set
            clock.advance(hour.plusSeconds(1));
            Exception e = failed.get(5, TimeUnit.SECONDS);
            assertContains(e.getMessage(), "timed out after 3600000 ms waiting for frame 0", "left neighbour rank 1");
        }
    }

    @Test
    void interruptStopsARankBlockedInTheAllReduce() throws Exception {
        Duration minute = Duration.ofMinutes(1);
        try (RingAllReduce ring = RingAllReduce.bind(LOOPBACK); FakePeer fake = new FakePeer()) {
            List<InetSocketAddress> peers = List.of(ring.localAddress(), fake.address());
            CompletableFuture<Void> handshake = fake.handshakeAsync(config(1, peers, minute));
            ring.connect(config(0, peers, minute));
            handshake.get(JOIN_SECONDS, TimeUnit.SECONDS);
            AtomicReference<Exception> error = new AtomicReference<>();
            AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
            Thread rank0 = new Thread(() -> {
                try {
                    ring.allReduceMean(new float[100], 0);
                } catch (Exception e) {
                    error.set(e);
                }
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            });
            rank0.start();
            fake.readFrameHeader(); // rank 0 sent its first frame and now waits for the fake's
            long start = System.nanoTime();
            rank0.interrupt();
            rank0.join(TimeUnit.SECONDS.toMillis(JOIN_SECONDS));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(millis < 2000, "the interrupted rank took " + millis + " ms to stop");
            assertInstanceOf(AllReduceException.class, error.get());
            assertContains(error.get().getMessage(), "rank 0, step 0: interrupted");
            assertEquals(Boolean.TRUE, stillInterrupted.get(), "the interrupt status was swallowed");
        }
    }

    @Test
    void mismatchedLayoutHashFailsBothRanksAtConnect() throws Exception {
        List<RingAllReduce> rings = bindAll(2);
        List<InetSocketAddress> peers = addresses(rings);
        long[] layouts = {LAYOUT, LAYOUT + 1};
        List<Exception> errors = onEveryRank(2, r -> {
            try (RingAllReduce ring = rings.get(r)) {
                AllReduceConfig c = config(r, peers, SHORT_IO);
                AllReduceConfig other = new AllReduceConfig(r, 2, peers, SECRET, layouts[r], c.chunkBytes(),
                        c.maxFrameBytes(), c.connectTimeout(), c.ioTimeout(), c.clock());
                return assertThrows(AllReduceException.class, () -> ring.connect(other));
            }
        });
        for (Exception e : errors) {
            assertContains(e.getMessage(), "gradient layout hash", "123456789abcdef0", "123456789abcdef1",
                    "different models");
        }
    }

    @Test
    void rejectsOversizedFrameBeforeReadingIt() throws Exception {
        AllReduceException e = failAgainstFrame(0, Frame.MAGIC, 7, 1 << 30);
        assertContains(e.getMessage(), "frame length 1073741824 from left neighbour rank 1",
                "outside [1, 1048576] (max-frame-bytes)");
    }

    @Test
    void rejectsFrameForAnotherStep() throws Exception {
        AllReduceException e = failAgainstFrame(0, Frame.MAGIC, 6, 200);
        assertContains(e.getMessage(), "frame for step 6 from left neighbour rank 1",
                "while this rank is at step 7");
    }

    @Test
    void rejectsFrameWithBadMagic() throws Exception {
        AllReduceException e = failAgainstFrame(0, 0xdeadbeef, 7, 200);
        assertContains(e.getMessage(), "bad frame magic 0xdeadbeef (expected 0x48434d46)");
    }

    @Test
    void rejectsFrameOfAnotherVersion() throws Exception {
        try (RingAllReduce ring = RingAllReduce.bind(LOOPBACK); FakePeer fake = new FakePeer()) {
            connectAgainstFake(ring, fake);
            ByteBuffer h = ByteBuffer.allocate(Frame.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            Frame.writeHeader(h, WireDtype.FP32, 7, 100, 0, 200, 0);
            write(fake.toRight, h.putShort(4, (short) 1).flip());
            AllReduceException e = assertThrows(AllReduceException.class, () -> ring.allReduceMean(new float[100], 7));
            assertContains(e.getMessage(), "frame format version 1 from left neighbour rank 1",
                    "this rank speaks version 2");
        }
    }

    /**
     * A reduce-scatter payload with one byte flipped after its CRC was taken: the rank fails naming the sender, and
     * the segment it would have added into is untouched.
     */
    @Test
    void flippedPayloadByteFailsTheCallBeforeAnythingIsAdded() throws Exception {
        try (RingAllReduce ring = RingAllReduce.bind(LOOPBACK); FakePeer fake = new FakePeer()) {
            connectAgainstFake(ring, fake);
            // Rank 0 of 2 first receives segment 1 (floats 50..99) to add into its own.
            ByteBuffer payload = ByteBuffer.allocate(50 * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 50; i++) {
                payload.putFloat(i * Float.BYTES, 1000f + i);
            }
            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
            crc.update(payload.duplicate());
            ByteBuffer frame = ByteBuffer.allocate(Frame.HEADER_BYTES + payload.capacity())
                    .order(ByteOrder.LITTLE_ENDIAN);
            Frame.writeHeader(frame, WireDtype.FP32, 7, 100, 0, payload.capacity(), (int) crc.getValue());
            frame.put(payload);
            frame.put(Frame.HEADER_BYTES + 77, (byte) (frame.get(Frame.HEADER_BYTES + 77) ^ 0x10));
            write(fake.toRight, frame.flip());

            ByteBuffer data = ByteBuffer.allocateDirect(100 * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < 100; i++) {
                data.putFloat(i * Float.BYTES, i);
            }
            AllReduceException e = assertThrows(AllReduceException.class, () -> ring.allReduceMean(data, 7));
            assertContains(e.getMessage(), "rank 0, step 7", "frame 0 (reduce-scatter) from left neighbour rank 1",
                    "failed its CRC32C check", String.format("0x%08x", (int) crc.getValue()));
            for (int i = 0; i < 100; i++) {
                assertEquals(i, data.getFloat(i * Float.BYTES), "float " + i + " was changed by a corrupt frame");
            }
        }
    }

    @Test
    void rankOfAnotherAttemptCannotJoin() throws Exception {
        List<RingAllReduce> rings = bindAll(2);
        List<InetSocketAddress> peers = addresses(rings);
        int[] attempts = {1, 2};
        List<Exception> errors = onEveryRank(2, r -> {
            try (RingAllReduce ring = rings.get(r)) {
                AllReduceConfig c = config(r, peers, SHORT_IO).withRun("run-a", attempts[r]);
                return assertThrows(AllReduceException.class, () -> ring.connect(c));
            }
        });
        assertContains(errors.get(0).getMessage(), "rank 1", "attempt 2 while this rank is in attempt 1");
        assertContains(errors.get(1).getMessage(), "rank 0", "attempt 1 while this rank is in attempt 2");
    }

    @Test
    void rankOfAnotherRunCannotJoinEvenWithTheSecret() throws Exception {
        List<RingAllReduce> rings = bindAll(2);
        List<InetSocketAddress> peers = addresses(rings);
        String[] runs = {"run-a", "run-b"};
        List<Exception> errors = onEveryRank(2, r -> {
            try (RingAllReduce ring = rings.get(r)) {
                AllReduceConfig c = config(r, peers, SHORT_IO).withRun(runs[r], 1);
                return assertThrows(AllReduceException.class, () -> ring.connect(c));
            }
        });
        for (Exception e : errors) {
            assertContains(e.getMessage(), "it belongs to another run");
        }
    }

    @Test
    void ranksOfTheSameRunAndAttemptJoin() throws Exception {
        List<RingAllReduce> rings = bindAll(2);
        List<InetSocketAddress> peers = addresses(rings);
        float[][] inputs = randomInputs(2, 1000, 5);
        List<float[]> results = onEveryRank(2, r -> {
            try (RingAllReduce ring = rings.get(r)) {
                ring.connect(config(r, peers, SHORT_IO.multipliedBy(20)).withRun("run-a", 3));
                return reduce(ring, r, inputs[r], 0);
            }
        });
        assertMeanWithin(mean(inputs), results.get(0), 0);
        assertArrayEquals(results.get(0), results.get(1));
    }

    @Test
    void worldOfOneLeavesTheBufferAsItIs() throws Exception {
        try (RingAllReduce ring = RingAllReduce.bind(LOOPBACK)) {
            ring.connect(config(0, List.of(ring.localAddress()), SHORT_IO));
            float[] data = {1f, -2f, 3.5f};
            ring.allReduceMean(data, 0);
            assertArrayEquals(new float[] {1f, -2f, 3.5f}, data);
        }
    }

    @Test
    void rejectsByteBuffersThatAreNotWholeLittleEndianFloats() throws Exception {
        try (RingAllReduce ring = RingAllReduce.bind(LOOPBACK)) {
            ring.connect(config(0, List.of(ring.localAddress()), SHORT_IO));
            Exception bigEndian = assertThrows(IllegalArgumentException.class,
                    () -> ring.allReduceMean(ByteBuffer.allocateDirect(8), 0));
            assertContains(bigEndian.getMessage(), "Invalid byte order BIG_ENDIAN", "little-endian");
            Exception partial = assertThrows(IllegalArgumentException.class,
                    () -> ring.allReduceMean(ByteBuffer.allocateDirect(6).order(ByteOrder.LITTLE_ENDIAN), 0));
            assertContains(partial.getMessage(), "6 bytes", "not a whole number of floats");
        }
    }

    @Test
    void closeStopsEverySenderThread() throws Exception {
        int n = 3;
        Set<Thread> before = senderThreads();
        List<RingAllReduce> rings = bindAll(n);
        List<InetSocketAddress> peers = addresses(rings);
        float[][] inputs = randomInputs(n, 5000, 5);
        Set<Thread> started = ConcurrentHashMap.newKeySet();
        onEveryRank(n, r -> {
            try (RingAllReduce ring = rings.get(r)) {
                ring.connect(config(r, peers, SHORT_IO.multipliedBy(20)));
                started.addAll(senderThreads());
                return reduce(ring, r, inputs[r], 0);
            }
        });
        started.removeAll(before);
        assertEquals(n, started.size(), "one sender thread per rank: " + started);
        for (Thread t : started) {
            assertFalse(t.isAlive(), t.getName() + " outlived close()");
        }
    }

    @Test
    void interruptStopsARankWhoseSenderIsBlocked() throws Exception {
        Duration minute = Duration.ofMinutes(1);
        Set<Thread> before = senderThreads();
        try (RingAllReduce ring = RingAllReduce.bind(LOOPBACK); FakePeer fake = new FakePeer()) {
            List<InetSocketAddress> peers = List.of(ring.localAddress(), fake.address());
            CompletableFuture<Void> handshake = fake.handshakeAsync(config(1, peers, minute));
            ring.connect(config(0, peers, minute));
            handshake.get(JOIN_SECONDS, TimeUnit.SECONDS);
            Set<Thread> sender = senderThreads();
            sender.removeAll(before);
            assertEquals(1, sender.size());
            AtomicReference<Exception> error = new AtomicReference<>();
            AtomicReference<Boolean> stillInterrupted = new AtomicReference<>();
            // 16 MB: rank 0's first segment (8 MB) is far more than the socket buffers of a peer that never reads.
            Thread rank0 = new Thread(() -> {
                try {
                    ring.allReduceMean(new float[4 << 20], 0);
                } catch (Exception e) {
                    error.set(e);
                }
                stillInterrupted.set(Thread.currentThread().isInterrupted());
            });
            rank0.start();
            fake.readFrameHeader(); // the sender is writing; the fake reads no more, so it blocks
            waitUntilBlockedInSelect(sender.iterator().next());
            long start = System.nanoTime();
            rank0.interrupt();
            rank0.join(TimeUnit.SECONDS.toMillis(JOIN_SECONDS));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(millis < 2000, "the interrupted rank took " + millis + " ms to stop");
            assertContains(error.get().getMessage(), "rank 0, step 0: interrupted");
            assertEquals(Boolean.TRUE, stillInterrupted.get(), "the interrupt status was swallowed");
            assertFalse(sender.iterator().next().isAlive(), "the sender thread outlived the failure");
        }
    }

    @Test
    void peerThatStopsReadingFailsTheSenderWithinTheDeadlineNamingIt() throws Exception {
        int count = 4 << 20;
        int chunkFloats = (64 << 10) / Float.BYTES; // config()'s chunk
        try (RingAllReduce ring = RingAllReduce.bind(LOOPBACK); FakePeer fake = new FakePeer()) {
            List<InetSocketAddress> peers = List.of(ring.localAddress(), fake.address());
            CompletableFuture<Void> handshake = fake.handshakeAsync(config(1, peers, SHORT_IO));
            ring.connect(config(0, peers, SHORT_IO));
            handshake.get(JOIN_SECONDS, TimeUnit.SECONDS);
            // The fake sends rank 0 every frame it expects (two segments of count/2 floats), but never reads.
            CompletableFuture<Void> frames = CompletableFuture.runAsync(() -> {
                ByteBuffer payload = ByteBuffer.allocate(chunkFloats * Float.BYTES);
                int frame = 0;
                try {
                    for (int g = 0; g < 2; g++) {
                        for (int sent = 0; sent < count / 2; sent += chunkFloats, frame++) {
                            ByteBuffer h = ByteBuffer.allocate(Frame.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
                            int len = Math.min(chunkFloats, count / 2 - sent) * Float.BYTES;
                            java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
                            crc.update(payload.clear().limit(len));
                            Frame.writeHeader(h, WireDtype.FP32, 3, count, frame, len, (int) crc.getValue());
                            write(fake.toRight, h.flip());
                            write(fake.toRight, payload.clear().limit(len));
                        }
                    }
                } catch (IOException e) {
                    // rank 0 closed the link after failing; what it says is checked below
                }
            });
            long start = System.nanoTime();
            AllReduceException e = assertThrows(AllReduceException.class,
                    () -> ring.allReduceMean(new float[count], 3));
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(millis < SHORT_IO.toMillis() + 2000, "rank 0 failed after " + millis + " ms");
            String silent = "right neighbour rank 1 at " + fake.address().getHostString() + ":"
                    + fake.address().getPort();
            assertContains(e.getMessage(), "rank 0, step 3: timed out after 500 ms sending frame", silent,
                    "it stopped reading");
            frames.get(JOIN_SECONDS, TimeUnit.SECONDS);
        }
    }

    // ---------------------------------------------------------------- helpers

    /** The live sender threads of every ring in this JVM. */
    private static Set<Thread> senderThreads() {
        Set<Thread> out = new HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("ring-sender-") && t.isAlive()) {
                out.add(t);
            }
        }
        return out;
    }

    /** Polls until {@code t} sits in a selector's wait (a blocked non-blocking write), failing after a minute. */
    private static void waitUntilBlockedInSelect(Thread t) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(JOIN_SECONDS);
        while (System.nanoTime() < deadline) {
            for (StackTraceElement e : t.getStackTrace()) {
                if (e.getClassName().endsWith("SelectorImpl") && e.getMethodName().equals("select")) {
                    return;
                }
            }
            Thread.sleep(10);
        }
        fail(t.getName() + " never blocked in a select");
    }

    /** Rank 0 against a fake rank 1 that sends one frame header with the given fields for 100 floats. */
    private static AllReduceException failAgainstFrame(int seq, int magic, long step, int length) throws Exception {
        try (RingAllReduce ring = RingAllReduce.bind(LOOPBACK); FakePeer fake = new FakePeer()) {
            List<InetSocketAddress> peers = List.of(ring.localAddress(), fake.address());
            CompletableFuture<Void> handshake = fake.handshakeAsync(config(1, peers, SHORT_IO));
            ring.connect(config(0, peers, Duration.ofMinutes(1)));
            handshake.get(JOIN_SECONDS, TimeUnit.SECONDS);
            ByteBuffer h = ByteBuffer.allocate(Frame.HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
            Frame.writeHeader(h, WireDtype.FP32, step, 100, seq, length, 0);
            write(fake.toRight, h.putInt(0, magic).flip());
            long start = System.nanoTime();
            AllReduceException e = assertThrows(AllReduceException.class, () -> ring.allReduceMean(new float[100], 7));
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(10), "the bad frame was not rejected");
            return e;
        }
    }

    /** Rank 0 (real) and rank 1 (fake) of 2 with the test's config, linked both ways. */
    private static void connectAgainstFake(RingAllReduce ring, FakePeer fake) throws Exception {
        List<InetSocketAddress> peers = List.of(ring.localAddress(), fake.address());
        CompletableFuture<Void> handshake = fake.handshakeAsync(config(1, peers, SHORT_IO));
        ring.connect(config(0, peers, Duration.ofMinutes(1)));
        handshake.get(JOIN_SECONDS, TimeUnit.SECONDS);
    }

    private static AllReduceConfig config(int rank, List<InetSocketAddress> peers, Duration io) {
        return new AllReduceConfig(rank, peers.size(), peers, SECRET, LAYOUT, 64 << 10, 1 << 20, CONNECT, io,
                Clock.systemUTC());
    }

    private static List<RingAllReduce> bindAll(int n) throws IOException {
        List<RingAllReduce> rings = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            rings.add(RingAllReduce.bind(LOOPBACK));
        }
        return rings;
    }

    private static List<InetSocketAddress> addresses(List<RingAllReduce> rings) {
        return rings.stream().map(RingAllReduce::localAddress).toList();
    }

    /**
     * Rank mod 4 picks the buffer kind: a direct little-endian byte buffer whose floats start after an untouched
     * prefix (the trainer's zero-copy path), a float[], a direct FloatBuffer, a heap little-endian byte buffer.
     * Returns the result and checks that position and limit are unchanged.
     */
    private static float[] reduce(RingAllReduce ring, int rank, float[] input, long step) throws IOException {
        float[] out = new float[input.length];
        switch (rank % 4) {
            case 0 -> {
                int prefix = 12;
                int bytes = prefix + input.length * Float.BYTES;
                ByteBuffer b = ByteBuffer.allocateDirect(bytes).order(ByteOrder.LITTLE_ENDIAN);
                b.putInt(0, 0x7eadbeef).putLong(4, -1L).position(prefix);
                b.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().put(input);
                ring.allReduceMean(b, step);
                assertEquals(prefix, b.position());
                assertEquals(bytes, b.limit());
                assertEquals(0x7eadbeef, b.getInt(0), "the bytes before the position were written");
                assertEquals(-1L, b.getLong(4), "the bytes before the position were written");
                b.slice().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(out);
            }
            case 3 -> {
                ByteBuffer heap = ByteBuffer.allocate(input.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
                heap.asFloatBuffer().put(input);
                ring.allReduceMean(heap, step);
                assertEquals(0, heap.position());
                heap.asFloatBuffer().get(out);
            }
            case 1 -> {
                System.arraycopy(input, 0, out, 0, input.length);
                ring.allReduceMean(out, step);
            }
            default -> {
                FloatBuffer direct = ByteBuffer.allocateDirect(input.length * Float.BYTES)
                        .order(ByteOrder.nativeOrder()).asFloatBuffer().put(input).flip();
                ring.allReduceMean(direct, step);
                assertEquals(0, direct.position());
                assertEquals(input.length, direct.limit());
                direct.get(out);
            }
        }
        return out;
    }

    private interface RankTask<T> {
        T run(int rank) throws Exception;
    }

    /** Runs the task for ranks 0..n-1 on their own threads and returns the results by rank. */
    private static <T> List<T> onEveryRank(int n, RankTask<T> task) throws Exception {
        List<CompletableFuture<T>> futures = new ArrayList<>();
        for (int r = 0; r < n; r++) {
            int rank = r;
            CompletableFuture<T> f = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    f.complete(task.run(rank));
                } catch (Throwable e) {
                    f.completeExceptionally(e);
                }
            }, "rank-" + r);
            t.start();
            futures.add(f);
        }
        List<T> results = new ArrayList<>();
        for (CompletableFuture<T> f : futures) {
            try {
                results.add(f.get(JOIN_SECONDS, TimeUnit.SECONDS));
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Exception cause) {
                    throw cause;
                }
                throw (Error) e.getCause();
            }
        }
        return results;
    }

    private static float[][] randomInputs(int n, int count, long seed) {
        Random random = new Random(seed);
        float[][] inputs = new float[n][count];
        for (float[] in : inputs) {
            for (int i = 0; i < count; i++) {
                in[i] = (float) random.nextGaussian();
            }
        }
        return inputs;
    }

    private static float[] mean(float[][] inputs) {
        float[] mean = new float[inputs[0].length];
        for (int i = 0; i < mean.length; i++) {
            double sum = 0;
            for (float[] in : inputs) {
                sum += in[i];
            }
            mean[i] = (float) (sum / inputs.length);
        }
        return mean;
    }

    /** Float sums of up to 4 values: 1e-5 absolute plus 1e-5 relative covers the rounding. */
    private static void assertMeanWithin(float[] expected, float[] actual, int rank) {
        assertEquals(expected.length, actual.length);
        double maxDiff = 0;
        int worst = -1;
        for (int i = 0; i < expected.length; i++) {
            double diff = Math.abs(expected[i] - actual[i]);
            if (!(diff <= 1e-5 + 1e-5 * Math.abs(expected[i])) && diff >= maxDiff) {
                maxDiff = diff;
                worst = i;
            }
        }
        if (worst >= 0) {
            fail("rank " + rank + ": index " + worst + " is " + actual[worst] + ", the mean is " + expected[worst]
                    + " (max diff " + maxDiff + ")");
        }
    }

    private static void assertContains(String message, String... parts) {
        for (String p : parts) {
            assertTrue(message != null && message.contains(p), "expected '" + p + "' in: " + message);
        }
    }

    private static ByteBuffer readExactly(Socket s, int bytes) throws IOException {
        byte[] b = new byte[bytes];
        new DataInputStream(s.getInputStream()).readFully(b);
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void write(Socket s, ByteBuffer b) throws IOException {
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        s.getOutputStream().write(bytes);
        s.getOutputStream().flush();
    }

    /** A rank that speaks the handshake with the real secret, then does only what a test tells it to. */
    private static final class FakePeer implements AutoCloseable {
        final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        Socket fromLeft;
        Socket toRight;

        FakePeer() throws IOException {
        }

        InetSocketAddress address() {
            return new InetSocketAddress(server.getInetAddress(), server.getLocalPort());
        }

        CompletableFuture<Void> handshakeAsync(AllReduceConfig me) {
            return CompletableFuture.runAsync(() -> {
                try {
                    handshake(me);
                } catch (IOException e) {
                    throw new IllegalStateException("fake rank " + me.rank() + " handshake failed", e);
                }
            });
        }

        private void handshake(AllReduceConfig me) throws IOException {
            Handshake.Identity id = Handshake.Identity.of(me, me.rank());
            InetSocketAddress right = me.peers().get(me.rightRank());
            toRight = new Socket(right.getAddress(), right.getPort());
            byte[] nonceA = Handshake.readHello(readExactly(toRight, Handshake.HELLO_BYTES));
            byte[] nonceC = Handshake.newNonce();
            write(toRight, Handshake.auth(SECRET, nonceA, id, nonceC));
            if (Handshake.verifyAccept(SECRET, readExactly(toRight, Handshake.ACCEPT_BYTES), nonceC, nonceA) == null) {
                throw new IOException("the right neighbour did not prove the secret");
            }
            fromLeft = server.accept();
            byte[] ownNonce = Handshake.newNonce();
            write(fromLeft, Handshake.hello(ownNonce));
            Handshake.Authenticated auth = Handshake.verifyAuth(SECRET,
                    readExactly(fromLeft, Handshake.AUTH_BYTES), ownNonce);
            if (auth == null) {
                throw new IOException("the left neighbour did not prove the secret");
            }
            write(fromLeft, Handshake.accept(SECRET, auth.nonceC(), id, ownNonce));
        }

        /** Blocks until the left neighbour has sent a whole frame header. */
        void readFrameHeader() throws IOException {
            readExactly(fromLeft, Frame.HEADER_BYTES);
        }

        @Override
        public void close() throws IOException {
            for (AutoCloseable c : new AutoCloseable[] {fromLeft, toRight, server}) {
                try {
                    if (c != null) {
                        c.close();
                    }
                } catch (Exception e) {
                    throw new IOException(e);
                }
            }
        }
    }

    /** A clock the test moves by hand. */
    private static final class MovableClock extends Clock {
        private volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            if (!ZoneOffset.UTC.equals(zone)) {
                throw new IllegalArgumentException("the test clock runs in UTC only, not " + zone);
            }
            return this;
        }
    }
}
