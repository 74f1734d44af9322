package io.hicmae.runtime.train;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The glibc malloc settings a CPU training process needs, and whether this process started with them.
 *
 * <p>libtorch allocates every activation and gradient with {@code malloc}. glibc serves blocks above its mmap
 * threshold with fresh {@code mmap}s and returns freed memory past its trim threshold to the kernel. Both thresholds
 * move with the allocation history, so a step's tensors are sometimes re-mapped and page-faulted every step: two
 * ranks in one JVM then spend about a third of their time in page faults, more in some runs than in others. A fixed
 * 32 MiB mmap threshold (glibc's largest) keeps those tensors in the arenas, and a 4 GiB trim threshold keeps the
 * freed pages for the next step. Tensors above 32 MiB are still mapped afresh each time; {@code hugetlb=1} asks for
 * transparent huge pages for them, one fault per 2 MiB instead of per 4 KiB (glibc 2.35 and later; older ones
 * ignore it). Measured in bench/quickstart/results.md and bench/step/results.md.
 *
 * <p>glibc reads {@code GLIBC_TUNABLES} only when a process starts. So {@code bin/hicmae} exports it, the training
 * session sets it for executors ({@code spark.executorEnv}), and the images set it too. A rank that runs without it
 * on the CPU logs {@link #hint} once.
 */
public final class MallocTuning {

    /** The value of {@code GLIBC_TUNABLES} (bin/hicmae's copy of it is checked against this one by a test). */
    public static final String TUNABLES =
            "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296:glibc.malloc.hugetlb=1";
    /** The value of {@code MALLOC_ARENA_MAX}: per-thread arenas otherwise grow resident memory for hours. */
    public static final String ARENA_MAX = "2";

    private MallocTuning() {}

    /**
     * {@code existing} (a {@code GLIBC_TUNABLES} value, possibly null or empty) with each of {@link #TUNABLES}'
     * settings added that it does not set itself: a user's own value for a key wins.
     */
    public static String merge(String existing) {
        Map<String, String> settings = parse(existing);
        parse(TUNABLES).forEach(settings::putIfAbsent);
        StringBuilder out = new StringBuilder();
        settings.forEach((k, v) -> out.append(out.length() == 0 ? "" : ":").append(k).append('=').append(v));
        return out.toString();
    }

    /** Whether {@code tunables} (a {@code GLIBC_TUNABLES} value, possibly null) sets each of {@link #TUNABLES}' keys. */
    public static boolean active(String tunables) {
        return parse(tunables).keySet().containsAll(parse(TUNABLES).keySet());
    }

    /** The warning for a CPU rank whose process started without the thresholds fixed. */
    public static String hint() {
        return "this JVM started without hicmae's glibc malloc settings (GLIBC_TUNABLES lacks one of "
                + String.join(", ", parse(TUNABLES).keySet()) + "): CPU steps may spend a third of their time in"
                + " page faults. Start it with GLIBC_TUNABLES=" + TUNABLES + " (bin/hicmae does; executors of a"
                + " training session get it through spark.executorEnv.GLIBC_TUNABLES)";
    }

    private static Map<String, String> parse(String tunables) {
        Map<String, String> settings = new LinkedHashMap<>();
        if (tunables == null) {
            return settings;
        }
        for (String item : tunables.split(":")) {
            int eq = item.indexOf('=');
            if (eq > 0) {
                settings.put(item.substring(0, eq), item.substring(eq + 1));
            }
        }
        return settings;
    }
}
