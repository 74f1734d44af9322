package io.hicmae.driver.finetune;

import io.hicmae.driver.prep.ClipRows;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipSchema;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.data.LabelSpace;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes small labelled clip datasets in the prep job's Parquet layout (schema version 2) from generated talking-face
 * clips: {@code videos} videos of {@code clipsPerVideo} windows each; video v has class v % classes (or dimensions
 * derived from v), split "train" for the first {@code trainVideos} and "val" after, and fold v % folds.
 */
final class LabelledDatasets {

    static final List<String> CLASSES = List.of("neutral", "happy", "angry");
    static final List<String> DIMENSIONS = List.of("arousal", "valence");

    private LabelledDatasets() {}

    static void write(SparkSession spark, Path dir, LabelSpace.Kind kind, int videos, int clipsPerVideo,
            int trainVideos, int folds) throws IOException {
        GeneratedClips clips = new GeneratedClips(HicmaeConfig.demo(), 11, 4);
        List<Row> rows = new ArrayList<>();
        for (int v = 0; v < videos; v++) {
            for (int w = 0; w < clipsPerVideo; w++) {
                GeneratedClips.Clip c = clips.clip((long) v * clipsPerVideo + w);
                ByteBuffer pcm = ByteBuffer.allocate(ClipSchema.SAMPLES_PER_CLIP * 2).order(ByteOrder.LITTLE_ENDIAN);
                for (int s = 0; s < ClipSchema.SAMPLES_PER_CLIP; s++) {
                    pcm.putShort(c.pcm()[s]);
                }
                boolean categorical = kind == LabelSpace.Kind.CATEGORICAL;
                rows.add(RowFactory.create(String.format("v%02dw%d", v, w), "video" + v + ".mp4", w, 2.56 * w, 25.0,
                        c.frames(), pcm.array(), ClipSchema.FRAMES_PER_CLIP, ClipSchema.CROP_SIZE,
                        ClipSchema.CROP_SIZE, 3, 16_000, ClipSchema.SAMPLES_PER_CLIP,
                        categorical ? v % CLASSES.size() : null,
                        categorical ? null : List.of(0.1f * v, 1f - 0.1f * v),
                        v < trainVideos ? "train" : "val", v % folds));
            }
        }
        spark.createDataFrame(rows, ClipRows.CLIP_TYPE).coalesce(1).write().option("compression", "zstd")
                .parquet(dir.toString());
        LabelSpace space = new LabelSpace(kind, kind == LabelSpace.Kind.CATEGORICAL ? CLASSES : DIMENSIONS);
        Files.writeString(dir.resolve(ClipSchema.DATASET_JSON), new com.google.gson.Gson().toJson(
                Map.of("schema_version", ClipSchema.VERSION, ClipSchema.DATASET_LABELS, space.toJson())));
    }
}
