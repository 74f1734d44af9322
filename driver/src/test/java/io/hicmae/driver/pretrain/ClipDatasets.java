package io.hicmae.driver.pretrain;

import io.hicmae.driver.prep.ClipRows;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.GeneratedClips;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

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
            rows.add(ClipRows.generated(String.format("clip%04d", i), "video" + i + ".mp4", clips.clip(i)));
        }
        spark.createDataFrame(rows, ClipRows.CLIP_TYPE).repartition(files).write().option("compression", "zstd")
                .parquet(dir.toString());
    }
}
