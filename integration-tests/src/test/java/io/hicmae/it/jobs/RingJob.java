package io.hicmae.it.jobs;

import io.hicmae.runtime.allreduce.AllReduceConfig;
import io.hicmae.runtime.allreduce.RingAllReduce;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.IntStream;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Two ranks of a barrier stage join the real {@link RingAllReduce} and average one buffer, the way a pre-training
 * rank does (bind, {@code allGather} of host:port, connect, all-reduce), with a window in between for a test to
 * knock on rank 0's door: {@code RingJob <dir>}.
 *
 * <p>The driver reads the job secret, hex, from {@code <dir>/secret}. Rank 0 writes its listen address to
 * {@code <dir>/rank-0.addr} and joins the ring at once; rank 1 joins only once {@code <dir>/go} exists, so until then
 * rank 0 waits for its left neighbour and takes every connection that arrives. Each rank's buffer holds {@code rank+1}
 * everywhere; the driver prints {@code RING result rank=R min=X max=Y} per rank (both 1.5 when the mean is right).
 */
public final class RingJob {
    /** How long rank 1 waits for the go file and each rank for the ring: longer than any test's wait. */
    static final Duration WAIT = Duration.ofMinutes(3);
    private static final long LAYOUT_HASH = 42;
    private static final int ELEMENTS = 4096;
    private static final ClassTag<String> STRING = ClassTag$.MODULE$.apply(String.class);

    private RingJob() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("Usage: RingJob <dir>, got " + List.of(args));
        }
        Path dir = Path.of(args[0]);
        byte[] secret = HexFormat.of().parseHex(Files.readString(dir.resolve("secret"), StandardCharsets.UTF_8).trim());
        try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("ring"))) {
            RDD<Integer> ranks = sc.parallelize(IntStream.range(0, 2).boxed().toList(), 2).rdd();
            RDD<String> results = ranks.barrier().mapPartitions(new Rank(dir.toString(), secret), false, STRING);
            new JavaRDD<>(results, STRING).collect().forEach(r -> System.out.println("RING result " + r));
        }
    }

    /** One rank. */
    private static final class Rank extends AbstractFunction1<Iterator<Integer>, Iterator<String>>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final String dir;
        private final byte[] secret;

        Rank(String dir, byte[] secret) {
            this.dir = dir;
            this.secret = secret;
        }

        @Override
        public Iterator<String> apply(Iterator<Integer> ignored) {
            BarrierTaskContext ctx = BarrierTaskContext.get();
            int rank = ctx.partitionId();
            String address = ctx.getTaskInfos()[rank].address();
            String host = address.substring(0, address.lastIndexOf(':'));
            try (RingAllReduce ring = RingAllReduce.bind(new InetSocketAddress(0))) {
                String[] all = ctx.allGather(host + ":" + ring.localAddress().getPort());
                List<InetSocketAddress> peers = new ArrayList<>();
                for (String a : all) {
                    int colon = a.lastIndexOf(':');
                    peers.add(new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1))));
                }
                if (rank == 0) {
                    Path tmp = Path.of(dir, "rank-0.addr.tmp");
                    Files.writeString(tmp, all[0], StandardCharsets.UTF_8);
                    Files.move(tmp, Path.of(dir, "rank-0.addr"), StandardCopyOption.ATOMIC_MOVE);
                } else {
                    awaitGo(ctx);
                }
                ring.connect(AllReduceConfig.withDefaults(rank, peers, secret, LAYOUT_HASH)
                        .withTimeouts(WAIT, WAIT, Clock.systemUTC()));
                float[] data = new float[ELEMENTS];
                Arrays.fill(data, rank + 1);
                ring.allReduceMean(data, 0);
                double min = Double.MAX_VALUE;
                double max = -Double.MAX_VALUE;
                for (float f : data) {
                    min = Math.min(min, f);
                    max = Math.max(max, f);
                }
                return CollectionConverters.asScala(List.of("rank=" + rank + " min=" + min + " max=" + max).iterator());
            } catch (IOException e) {
                throw new UncheckedIOException("rank " + rank + ": " + e.getMessage(), e);
            }
        }

        private void awaitGo(BarrierTaskContext ctx) {
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (!Files.exists(Path.of(dir, "go"))) {
                ctx.killTaskIfInterrupted();
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("rank 1: no " + Path.of(dir, "go") + " after " + WAIT);
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("rank 1 interrupted while waiting for the go file", e);
                }
            }
        }
    }
}
