package io.hicmae.driver.prep;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.runtime.data.ClipSchema;
import io.hicmae.runtime.data.LabelSpace;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;

/**
 * A prepared dataset's {@code _dataset.json}: schema version, the label space (a labelled dataset), sampling,
 * cumulative counts (clips per class, split and fold for a labelled dataset), bytes per clip, times and the last
 * config. Counted from the committed batches, written last by a run (through a temporary file and a rename).
 */
final class DatasetDescriptor {

    /**
     * The dataset's counts, as written.
     *
     * @param videosWithClips videos with at least one clip
     * @param videosQuarantined videos in the quarantine
     * @param clips clips in the dataset
     * @param bytesPerClip Parquet bytes per clip
     */
    record Counts(long videosWithClips, long videosQuarantined, long clips, double bytesPerClip) {}

    /** Key of the complete clip batches' names: a batch is complete only when listed. */
    static final String BATCHES = "batches";
    /** Key of the complete quarantine batches' names. */
    static final String QUARANTINE_BATCHES = "quarantine_batches";

    private DatasetDescriptor() {}

    /**
     * The descriptor under {@code out}, or null when there is none yet. A run that died between deleting the old
     * descriptor and renaming the new one into place left the new one, complete, under its temporary name: it is
     * read from there.
     */
    static JsonObject read(FileSystem fs, Path out) throws IOException {
        Path p = new Path(out, ClipSchema.DATASET_JSON);
        if (!fs.exists(p)) {
            p = tmp(out);
            if (!fs.exists(p)) {
                return null;
            }
        }
        try (InputStream in = fs.open(p)) {
            return JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        }
    }

    private static Path tmp(Path out) {
        return new Path(out, "." + ClipSchema.DATASET_JSON + ".tmp");
    }

    /** A run appends only to a dataset of a schema it writes and with the same window stride. */
    static void checkSameSampling(JsonObject previous, PrepConfig config, Path out) {
        if (previous == null) {
            return;
        }
        int version = previous.get("schema_version").getAsInt();
        if (version != ClipSchema.VERSION && version != ClipSchema.VERSION_UNLABELLED) {
            throw PrepConfig.invalid(PrepConfig.OUTPUT, out, "holds schema version " + version
                    + ", this build appends to versions " + ClipSchema.VERSION_UNLABELLED + " and " + ClipSchema.VERSION
                    + " only");
        }
        int stride = previous.getAsJsonObject("sampling").get("window_stride").getAsInt();
        if (stride != config.windowStride()) {
            throw PrepConfig.invalid(PrepConfig.WINDOW_STRIDE, config.windowStride(), "the dataset at " + out
                    + " was made with " + stride);
        }
    }

    /** Counts the committed batches of {@code output} and (re)writes its descriptor. */
    static Counts write(PrepOutput output, PrepConfig config, JsonObject previous, Optional<LabelSpace> space,
            Clock clock) throws IOException {
        FileSystem fs = output.fs();
        Path out = output.root();
        List<Path> clipBatches = output.clipBatches();
        List<Path> qBatches = output.quarantineBatches();
        long clips = 0;
        long withClips = 0;
        long bytes = 0;
        if (!clipBatches.isEmpty()) {
            Dataset<Row> all = output.read(clipBatches);
            clips = all.count();
            withClips = all.select(ClipSchema.SOURCE).distinct().count();
            for (Path b : clipBatches) {
                bytes += fs.getContentSummary(b).getLength();
            }
        }
        Map<String, Long> byReason = new TreeMap<>();
        if (!qBatches.isEmpty()) {
            for (Row r : output.read(qBatches).groupBy(ClipSchema.Q_REASON).count().collectAsList()) {
                byReason.put(r.getString(0), r.getLong(1));
            }
        }
        long quarantined = byReason.values().stream().mapToLong(Long::longValue).sum();
        double bytesPerClip = clips == 0 ? 0 : bytes / (double) clips;

        Map<String, Object> json = new LinkedHashMap<>();
        json.put("schema_version", ClipSchema.VERSION);
        space.ifPresent(s -> json.put(ClipSchema.DATASET_LABELS, s.toJson()));
        json.put("sampling", sampling(config));
        json.put("frames", Map.of("shape", List.of(ClipSchema.FRAMES_PER_CLIP, ClipSchema.CROP_SIZE,
                ClipSchema.CROP_SIZE, ClipSchema.COLOR_CHANNELS), "dtype", "uint8", "layout", "THWC, RGB"));
        json.put("pcm", Map.of("shape", List.of(ClipSchema.SAMPLES_PER_CLIP), "dtype", "int16 little-endian",
                "layout", "mono"));
        Map<String, Object> counts = new LinkedHashMap<>();
        counts.put("videos_seen", withClips + quarantined);
        counts.put("videos_with_clips", withClips);
        counts.put("videos_quarantined", quarantined);
        counts.put("clips", clips);
        counts.put("quarantined_by_reason", byReason);
        if (space.isPresent() && !clipBatches.isEmpty()) {
            Dataset<Row> all = output.read(clipBatches);
            if (space.get().kind() == LabelSpace.Kind.CATEGORICAL) {
                counts.put("clips_by_class", countBy(all, ClipSchema.LABEL, k -> space.get().names().get((Integer) k)));
            }
            counts.put("clips_by_split", countBy(all, ClipSchema.SPLIT, k -> k == null ? "(none)" : (String) k));
            counts.put("clips_by_fold", countBy(all, ClipSchema.FOLD, k -> k == null ? "(none)" : k.toString()));
        }
        json.put("counts", counts);
        json.put("clip_file_bytes", bytes);
        json.put("bytes_per_clip", Math.round(bytesPerClip));
        json.put(BATCHES, clipBatches.stream().map(Path::getName).toList());
        json.put(QUARANTINE_BATCHES, qBatches.stream().map(Path::getName).toList());
        String now = Instant.now(clock).toString();
        json.put("created_at", previous == null ? now : previous.get("created_at").getAsString());
        json.put("updated_at", now);
        json.put("config", config.toMap());

        Gson gson = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping().create();
        Path target = new Path(out, ClipSchema.DATASET_JSON);
        Path tmp = tmp(out);
        fs.mkdirs(out);
        try (OutputStream os = fs.create(tmp, true)) {
            os.write(gson.toJson(json).getBytes(StandardCharsets.UTF_8));
        }
        fs.delete(target, false);
        PrepOutput.rename(fs, tmp, target);
        return new Counts(withClips, quarantined, clips, bytesPerClip);
    }

    private static Map<String, Object> sampling(PrepConfig config) {
        Map<String, Object> sampling = new LinkedHashMap<>();
        sampling.put("frames_per_clip", ClipSchema.FRAMES_PER_CLIP);
        sampling.put("frame_stride", ClipSchema.FRAME_STRIDE);
        sampling.put("window_frames", ClipSchema.WINDOW_FRAMES);
        sampling.put("window_stride", config.windowStride());
        sampling.put("reference_fps", ClipSchema.REFERENCE_FPS);
        sampling.put("scaled_size", ClipSchema.SCALED_SIZE);
        sampling.put("crop_rows", List.of(ClipSchema.CROP_TOP, ClipSchema.CROP_TOP + ClipSchema.CROP_SIZE));
        sampling.put("crop_cols", List.of(ClipSchema.CROP_LEFT, ClipSchema.CROP_LEFT + ClipSchema.CROP_SIZE));
        sampling.put("audio_sample_rate", ClipSchema.AUDIO_SAMPLE_RATE);
        sampling.put("samples_per_clip", ClipSchema.SAMPLES_PER_CLIP);
        return sampling;
    }

    /** Rows per value of {@code column}, keyed by {@code name} of the value, in key order. */
    private static Map<String, Long> countBy(Dataset<Row> rows, String column, Function<Object, String> name) {
        Map<String, Long> counts = new TreeMap<>();
        for (Row r : rows.groupBy(column).count().collectAsList()) {
            counts.put(name.apply(r.get(0)), r.getLong(1));
        }
        return counts;
    }
}
