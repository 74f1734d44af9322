package io.hicmae.driver.pretrain;

import io.hicmae.driver.prep.ClipRows;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipSchema;
import io.hicmae.runtime.data.GeneratedClips;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Writes small clip datasets in the prep job's Parquet layout, from generated talking-face clips. */
final class ClipDatasets {

    private ClipDatasets() {}

    /** {@code count} clips at the stored geometry (16 x 160 x 160 x 3 frames, 40,960 samples) in {@code files} files. */
    static void write(SparkSession spark, Path dir, int count, int files, long seed) {
        GeneratedClips clips = new GeneratedClips(HicmaeConfig.demo(), seed, 4);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            GeneratedClips.Clip c = clips.clip(i);
            ByteBuffer pcm = ByteBuffer.allocate(ClipSchema.SAMPLES_PER_CLIP * 2).order(ByteOrder.LITTLE_ENDIAN);
            for (int s = 0; s < ClipSchema.SAMPLES_PER_CLIP; s++) {
                pcm.putShort(c.pcm()[s]);
            }
            rows.add(RowFactory.create(String.format("clip%04d", i), "video" + i + ".mp4", 0, 0.0, 25.0,
                    c.frames(), pcm.array(), ClipSchema.FRAMES_PER_CLIP, ClipSchema.CROP_SIZE, ClipSchema.CROP_SIZE,
                    3, 16_000, ClipSchema.SAMPLES_PER_CLIP, null, null, null, null)); // unlabelled
        }
        spark.createDataFrame(rows, ClipRows.CLIP_TYPE).repartition(files).write().option("compression", "zstd")
                .parquet(dir.toString());
    }
}
