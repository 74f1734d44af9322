package io.hicmae.driver.prep;

import io.hicmae.prep.ClipRecord;
import io.hicmae.prep.QuarantineRecord;
import io.hicmae.runtime.data.ClipLabels;
import io.hicmae.runtime.data.ClipSchema;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/** The Spark row types of a prepared dataset (clip rows and quarantine rows) and the conversions into them. */
public final class ClipRows {

    /** Spark type of a clip row; names from {@link ClipSchema}. */
    public static final StructType CLIP_TYPE = new StructType()
            .add(ClipSchema.CLIP_ID, DataTypes.StringType, false)
            .add(ClipSchema.SOURCE, DataTypes.StringType, false)
            .add(ClipSchema.WINDOW, DataTypes.IntegerType, false)
            .add(ClipSchema.START_S, DataTypes.DoubleType, false)
            .add(ClipSchema.FPS, DataTypes.DoubleType, false)
            .add(ClipSchema.FRAMES, DataTypes.BinaryType, false)
            .add(ClipSchema.PCM, DataTypes.BinaryType, false)
            .add(ClipSchema.FRAMES_T, DataTypes.IntegerType, false)
            .add(ClipSchema.HEIGHT, DataTypes.IntegerType, false)
            .add(ClipSchema.WIDTH, DataTypes.IntegerType, false)
            .add(ClipSchema.CHANNELS, DataTypes.IntegerType, false)
            .add(ClipSchema.SAMPLE_RATE, DataTypes.IntegerType, false)
            .add(ClipSchema.PCM_SAMPLES, DataTypes.IntegerType, false)
            .add(ClipSchema.LABEL, DataTypes.IntegerType, true)
            .add(ClipSchema.DIMENSIONS, DataTypes.createArrayType(DataTypes.FloatType, false), true)
            .add(ClipSchema.SPLIT, DataTypes.StringType, true)
            .add(ClipSchema.FOLD, DataTypes.IntegerType, true);

    /** Spark type of a quarantine row. */
    public static final StructType QUARANTINE_TYPE = new StructType()
            .add(ClipSchema.Q_SOURCE, DataTypes.StringType, false)
            .add(ClipSchema.Q_REASON, DataTypes.StringType, false)
            .add(ClipSchema.Q_DETAIL, DataTypes.StringType, false);

    private ClipRows() {}

    /** A clip row ({@link #CLIP_TYPE}); the label columns are null when {@code l} is. */
    static Row clip(ClipRecord c, ClipLabels l) {
        Integer label = l != null && l.isCategorical() ? l.category() : null;
        scala.collection.Seq<Float> dimensions = null; // Spark's Row encoder takes a Scala Seq for an array
        if (l != null && !l.isCategorical()) {
            List<Float> values = new ArrayList<>(l.dimensions().length);
            for (float d : l.dimensions()) {
                values.add(d);
            }
            dimensions = scala.jdk.javaapi.CollectionConverters.asScala(values).toSeq();
        }
        Integer fold = l == null || l.fold() == ClipLabels.NO_FOLD ? null : l.fold();
        return RowFactory.create(c.clipId(), c.source(), c.window(), c.startS(), c.fps(), c.frames(), c.pcm(),
                ClipSchema.FRAMES_PER_CLIP, ClipSchema.CROP_SIZE, ClipSchema.CROP_SIZE, ClipSchema.COLOR_CHANNELS,
                ClipSchema.AUDIO_SAMPLE_RATE, ClipSchema.SAMPLES_PER_CLIP, label, dimensions,
                l == null ? null : l.split(), fold);
    }

    /**
     * An unlabelled clip row ({@link #CLIP_TYPE}) of a generated talking-face clip at the stored geometry, as prep
     * would store it: how tests write small datasets without decoding videos.
     */
    public static Row generated(String clipId, String source, io.hicmae.runtime.data.GeneratedClips.Clip c) {
        java.nio.ByteBuffer pcm = java.nio.ByteBuffer.allocate(ClipSchema.SAMPLES_PER_CLIP * 2)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int s = 0; s < ClipSchema.SAMPLES_PER_CLIP; s++) {
            pcm.putShort(c.pcm()[s]);
        }
        return RowFactory.create(clipId, source, 0, 0.0, 25.0, c.frames(), pcm.array(), ClipSchema.FRAMES_PER_CLIP,
                ClipSchema.CROP_SIZE, ClipSchema.CROP_SIZE, ClipSchema.COLOR_CHANNELS, ClipSchema.AUDIO_SAMPLE_RATE,
                ClipSchema.SAMPLES_PER_CLIP, null, null, null, null);
    }

    /** A quarantine row ({@link #QUARANTINE_TYPE}). */
    static Row quarantine(QuarantineRecord q) {
        return RowFactory.create(q.source(), q.reason().label(), q.detail());
    }
}
