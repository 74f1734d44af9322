package io.hicmae.driver.prep;

import io.hicmae.runtime.data.ClipSchema;
import java.io.Serializable;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * The one typed configuration of the prep job. Each key is a constant with its doc and default next to it; the
 * constructor checks every value and fails with "Invalid value V for configuration K: reason".
 *
 * @param input directory tree, glob, or text file of paths, on any Hadoop file system; null when {@code manifest}
 *     lists the videos
 * @param output dataset root on any Hadoop file system
 * @param master Spark master URL
 * @param windowStride reference frames between window starts
 * @param decodeTimeout deadline for one video
 * @param videosPerTask videos per Spark task
 * @param targetFileMb largest Parquet file aimed for
 * @param spoolMemoryMb memory for one video's clips before they spill to local disk
 * @param extensions file name extensions taken as videos, lower case
 * @param progressInterval time between progress lines
 * @param manifest CSV manifest of labelled videos (see {@link Manifest}), or null; exactly one of {@code input} and
 *     {@code manifest} is given
 */
public record PrepConfig(
        String input,
        String output,
        String master,
        int windowStride,
        Duration decodeTimeout,
        int videosPerTask,
        int targetFileMb,
        int spoolMemoryMb,
        List<String> extensions,
        Duration progressInterval,
        String manifest)
        implements Serializable {

    public static final String INPUT = "input";
    public static final String INPUT_DOC = "Videos: a directory tree, a glob, or a .txt/.list file of paths (one a line, relative to the"
            + " list's directory or absolute), as a path or a file:, hdfs: or s3a: URI.";
    public static final String MANIFEST = "manifest";
    public static final String MANIFEST_DOC = "Instead of --input: a CSV of labelled videos; only they are prepared and"
            + " every clip row carries its video's labels. Header path,label[,split][,fold] (categorical) or"
            + " path,<dim1>,<dim2>,...[,split][,fold] (dimensional, float targets); paths relative to the manifest's"
            + " directory or absolute; every listed file is an input, whatever its extension. Listed files that are"
            + " missing are quarantined as unreadable.";
    public static final String OUTPUT = "output";
    public static final String OUTPUT_DOC = "Root of the Parquet clip dataset; a second run on it adds only new videos.";
    public static final String MASTER = "master";
    public static final String MASTER_DOC = "Spark master URL; defaults to spark.master when set (spark-submit), else local[*].";
    public static final String MASTER_DEFAULT = "local[*]";
    public static final String WINDOW_STRIDE = "window-stride";
    public static final String WINDOW_STRIDE_DOC = "Frames at 25 fps between the starts of consecutive windows; 64 gives non-overlapping 2.56 s windows.";
    public static final int WINDOW_STRIDE_DEFAULT = ClipSchema.WINDOW_FRAMES;
    public static final String DECODE_TIMEOUT_S = "decode-timeout-s";
    public static final String DECODE_TIMEOUT_S_DOC = "Seconds one video may take to decode, and a remote one to copy to the executor,"
            + " before it is quarantined as timeout.";
    public static final int DECODE_TIMEOUT_S_DEFAULT = 120;
    public static final String VIDEOS_PER_TASK = "videos-per-task";
    public static final String VIDEOS_PER_TASK_DOC = "Videos per Spark task; each task writes its own Parquet file(s).";
    public static final int VIDEOS_PER_TASK_DEFAULT = 64; // VoxCeleb2: ~3 clips a video, ~200 clips a file
    public static final String TARGET_FILE_MB = "target-file-mb";
    public static final String TARGET_FILE_MB_DOC = "Largest Parquet file wanted, in MiB (HDFS-friendly: 128-512).";
    public static final int TARGET_FILE_MB_DEFAULT = 256;
    public static final String SPOOL_MEMORY_MB = "spool-memory-mb";
    public static final String SPOOL_MEMORY_MB_DOC = "MiB of one video's clips held in memory until the video is done; more spills to local disk.";
    public static final int SPOOL_MEMORY_MB_DEFAULT = 256;
    public static final String EXTENSIONS = "extensions";
    public static final String EXTENSIONS_DOC = "Comma-separated file name extensions taken as videos in an --input tree"
            + " or glob; other files are not inputs.";
    public static final String EXTENSIONS_DEFAULT = "mp4,m4v,mov,mkv,webm,avi";
    public static final String PROGRESS_INTERVAL_S = "progress-interval-s";
    public static final String PROGRESS_INTERVAL_S_DOC = "Seconds between progress lines on the driver's console.";
    public static final int PROGRESS_INTERVAL_S_DEFAULT = 10;

    /** An unlabelled job over {@code input}. */
    public PrepConfig(String input, String output, String master, int windowStride, Duration decodeTimeout,
            int videosPerTask, int targetFileMb, int spoolMemoryMb, List<String> extensions,
            Duration progressInterval) {
        this(input, output, master, windowStride, decodeTimeout, videosPerTask, targetFileMb, spoolMemoryMb,
                extensions, progressInterval, null);
    }

    public PrepConfig {
        if (input != null && manifest != null) {
            throw invalid(MANIFEST, manifest, "give either " + INPUT + " or " + MANIFEST + ", not both");
        }
        if (input == null && manifest == null) {
            throw new IllegalArgumentException("Missing required configuration " + INPUT + " or " + MANIFEST
                    + ", which have no default value: give one of them");
        } else if (manifest == null) {
            requireText(INPUT, input);
        } else {
            requireText(MANIFEST, manifest);
        }
        requireText(OUTPUT, output);
        requireText(MASTER, master);
        atLeast(WINDOW_STRIDE, windowStride, 1);
        atLeast(DECODE_TIMEOUT_S, decodeTimeout.toSeconds(), 1);
        atLeast(VIDEOS_PER_TASK, videosPerTask, 1);
        if (targetFileMb < 8 || targetFileMb > 4096) {
            throw invalid(TARGET_FILE_MB, targetFileMb, "must be between 8 and 4096");
        }
        atLeast(SPOOL_MEMORY_MB, spoolMemoryMb, 0);
        if (extensions.isEmpty() || extensions.stream().anyMatch(e -> !e.matches("[a-z0-9]+"))) {
            throw invalid(EXTENSIONS, String.join(",", extensions),
                    "must be one or more extensions of letters and digits, without dots");
        }
        atLeast(PROGRESS_INTERVAL_S, progressInterval.toSeconds(), 1);
        if (output.equals(input)) {
            throw invalid(OUTPUT, output, "must differ from " + INPUT);
        }
        extensions = List.copyOf(extensions);
    }

    /** Parses {@value #EXTENSIONS}' comma-separated form, lower-casing and dropping leading dots. */
    public static List<String> parseExtensions(String csv) {
        return List.of(csv.split(",")).stream()
                .map(s -> s.trim().toLowerCase(Locale.ROOT).replaceFirst("^\\.", ""))
                .filter(s -> !s.isEmpty())
                .toList();
    }

    /** Most clips a Parquet file holds: the target size over a clip's raw size, so files stay under the target. */
    public int maxClipsPerFile() {
        return Math.max(1, (int) ((long) targetFileMb * (1 << 20) / (ClipSchema.FRAME_BYTES + ClipSchema.PCM_BYTES)));
    }

    /** Every key and value, sorted by key: logged once and stored in {@code _dataset.json}. */
    public Map<String, String> toMap() {
        Map<String, String> m = new TreeMap<>();
        if (input != null) {
            m.put(INPUT, input);
        }
        if (manifest != null) {
            m.put(MANIFEST, manifest);
        }
        m.put(OUTPUT, output);
        m.put(MASTER, master);
        m.put(WINDOW_STRIDE, Integer.toString(windowStride));
        m.put(DECODE_TIMEOUT_S, Long.toString(decodeTimeout.toSeconds()));
        m.put(VIDEOS_PER_TASK, Integer.toString(videosPerTask));
        m.put(TARGET_FILE_MB, Integer.toString(targetFileMb));
        m.put(SPOOL_MEMORY_MB, Integer.toString(spoolMemoryMb));
        m.put(EXTENSIONS, String.join(",", extensions));
        m.put(PROGRESS_INTERVAL_S, Long.toString(progressInterval.toSeconds()));
        return m;
    }

    static IllegalArgumentException invalid(String key, Object value, String reason) {
        return new IllegalArgumentException("Invalid value " + value + " for configuration " + key + ": " + reason);
    }

    private static void requireText(String key, String value) {
        if (value == null || value.isBlank()) {
            throw new IllegalArgumentException("Missing required configuration " + key + " which has no default value");
        }
    }

    private static void atLeast(String key, long value, long min) {
        if (value < min) {
            throw invalid(key, value, "must be at least " + min);
        }
    }
}
