package io.hicmae.runtime.train;

import io.hicmae.runtime.allreduce.AllReduceConfig;
import io.hicmae.runtime.allreduce.RingAllReduce;
import io.hicmae.runtime.allreduce.WireDtype;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * Ranks as threads of the test, each with its own ring connected over loopback, as executors run them: every rank's
 * body runs on its own thread and its result comes back in rank order, within five minutes.
 */
final class LoopbackRing {

    /** One rank's work with its connected ring. */
    interface Rank<T> {
        T run(int rank, RingAllReduce ring) throws Exception;
    }

    private LoopbackRing() {}

    static <T> List<T> run(int ranks, WireDtype wire, Rank<T> body) throws Exception {
        byte[] secret = "a test secret of 32 bytes .......".getBytes(StandardCharsets.US_ASCII);
        InetAddress lo = InetAddress.getLoopbackAddress();
        List<RingAllReduce> rings = new ArrayList<>();
        List<InetSocketAddress> peers = new ArrayList<>();
        for (int r = 0; r < ranks; r++) {
            rings.add(RingAllReduce.bind(new InetSocketAddress(lo, 0)));
            peers.add(rings.get(r).localAddress());
        }
        ExecutorService pool = Executors.newFixedThreadPool(ranks);
        try {
            List<Future<T>> out = new ArrayList<>();
            for (int r = 0; r < ranks; r++) {
                int rank = r;
                out.add(pool.submit(() -> {
                    try (RingAllReduce ring = rings.get(rank)) {
                        ring.connect(AllReduceConfig.withDefaults(rank, peers, secret, 42L)
                                .withTimeouts(Duration.ofSeconds(60), Duration.ofSeconds(120), Clock.systemUTC())
                                .withWireDtype(wire));
                        return body.run(rank, ring);
                    }
                }));
            }
            List<T> results = new ArrayList<>();
            for (Future<T> f : out) {
                results.add(f.get(5, TimeUnit.MINUTES));
            }
            return results;
        } finally {
            pool.shutdownNow();
            rings.forEach(RingAllReduce::close);
        }
    }
}
