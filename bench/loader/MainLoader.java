import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipGeometry;
import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.runtime.data.LoaderOptions;
import io.hicmae.runtime.data.PrefetchingLoader;
import org.apache.hadoop.conf.Configuration;

import java.time.Duration;

/**
 * The baseline of bench/loader: main's PrefetchingLoader (host crop, normalisation and fbank), one loader thread,
 * timed by a consumer that only takes batches. Run with main's jars on the class path (run.sh builds them):
 * {@code java -cp 'main/lib/*:main/hicmae-driver.jar' MainLoader.java DATA PRESET BATCH SECONDS}.
 * The last line contains "<n> clips/s".
 */
public class MainLoader {
    /** CPU nanoseconds of the loader thread(s), named clip-loader-rank-* on main as now. */
    static long loaderCpu(java.lang.management.ThreadMXBean mx) {
        long total = 0;
        for (java.lang.management.ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) {
            if (t != null && t.getThreadName().startsWith("clip-loader-rank-")) {
                total += mx.getThreadCpuTime(t.getThreadId());
            }
        }
        return total;
    }

    public static void main(String[] args) throws Exception {
        String data = args[0];
        HicmaeConfig config = HicmaeConfig.preset(args[1]);
        int batch = Integer.parseInt(args[2]);
        double seconds = Double.parseDouble(args[3]);
        Configuration conf = new Configuration();
        ClipIndex index = ClipIndex.build(data, conf);
        LoaderOptions lo = new LoaderOptions(0, 1, batch, 1, 2, 4, ClipGeometry.STORED);
        try (PrefetchingLoader loader = new PrefetchingLoader(index, config, lo, conf)) {
            long warm = System.nanoTime() + 10_000_000_000L; // warm-up: JIT, first row groups (as bench loader)
            for (int i = 0; i < 2 || System.nanoTime() < warm; i++) {
                loader.next(Duration.ofMinutes(2));
            }
            java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
            long cpu0 = loaderCpu(mx);
            long start = System.nanoTime();
            long clips = 0;
            while (System.nanoTime() - start < seconds * 1e9) {
                clips += loader.next(Duration.ofMinutes(2)).size();
            }
            double s = (System.nanoTime() - start) / 1e9;
            double cpu = (loaderCpu(mx) - cpu0) / 1e9;
            System.out.printf("main loader (host crop + normalise + fbank), 1 thread, batch %d: %d clips in %.1f s%n",
                    batch, clips, s);
            System.out.printf("loader thread: %.1f CPU s, %.1f clips per loader CPU second (load-independent)%n", cpu,
                    clips / cpu);
            System.out.printf("main loader: %.1f clips/s%n", clips / s);
        }
    }
}
