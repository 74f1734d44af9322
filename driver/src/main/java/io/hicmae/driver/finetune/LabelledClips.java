package io.hicmae.driver.finetune;

import io.hicmae.runtime.data.ClipGeometry;
import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.runtime.data.ClipShardReader;
import io.hicmae.runtime.data.LabelSpace;
import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;

/**
 * A labelled dataset as the driver plans with it: its {@link LabelSpace}, its {@link ClipIndex} and every clip's
 * {@link ClipEntry}, read by a plain Spark stage (one task per few row groups; the label columns come with the clip
 * rows, so the stage also checks every clip's shape). Entries are in position order.
 *
 * @param uri the dataset
 * @param space its label space
 * @param index its footers
 * @param entries every clip, in position order
 */
public record LabelledClips(String uri, LabelSpace space, ClipIndex index, List<ClipEntry> entries) {

    /**
     * Reads a labelled dataset.
     *
     * @param key the configuration key that named it, for errors
     * @throws io.hicmae.driver.config.ConfigException naming the key when the dataset has no labels
     */
    public static LabelledClips read(SparkSession spark, String uri, String key) throws IOException {
        Configuration hadoop = spark.sparkContext().hadoopConfiguration();
        LabelSpace space = space(uri, key, hadoop);
        ClipIndex index = ClipIndex.build(uri, hadoop);
        int groups = index.rowGroupCount();
        List<String> files = new ArrayList<>();
        int[] blocks = new int[groups];
        for (int g = 0; g < groups; g++) {
            files.add(index.fileOf(g));
            blocks[g] = index.blockOf(g);
        }
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        SerializableConfiguration conf = new SerializableConfiguration(hadoop);
        int partitions = Math.max(1, Math.min(groups, jsc.defaultParallelism()));
        List<ClipEntry> entries = new ArrayList<>(jsc
                .parallelize(IntStream.range(0, groups).boxed().toList(), partitions)
                .mapPartitions(it -> {
                    List<ClipEntry> out = new ArrayList<>();
                    ClipShardReader reader = null;
                    try {
                        while (it.hasNext()) {
                            int g = it.next();
                            String file = files.get(g);
                            if (reader == null || !reader.file().equals(file)) {
                                if (reader != null) {
                                    reader.close();
                                }
                                reader = ClipShardReader.open(file, conf.value(), ClipGeometry.STORED);
                            }
                            reader.readRowGroup(blocks[g], r -> true,
                                    (r, clip) -> out.add(ClipEntry.of(ClipIndex.position(g, r), clip, file)));
                        }
                    } finally {
                        if (reader != null) {
                            reader.close();
                        }
                    }
                    return out.iterator();
                })
                .collect());
        entries.sort(Comparator.comparingLong(ClipEntry::position));
        for (ClipEntry e : entries) {
            checkLabels(uri, space, e);
        }
        return new LabelledClips(uri, space, index, List.copyOf(entries));
    }

    private static void checkLabels(String uri, LabelSpace space, ClipEntry e) {
        int n = space.names().size();
        boolean categorical = space.kind() == LabelSpace.Kind.CATEGORICAL;
        if (categorical ? e.category() < 0 || e.category() >= n : e.dimensions().length != n) {
            throw new IllegalArgumentException(uri + ": clip " + e.clipId() + " of " + e.source() + " has "
                    + (categorical ? "class " + e.category() + ", not one of the " + n + " classes " + space.names()
                            : e.dimensions().length + " dimensions, not the " + n + " of " + space.names()));
        }
    }

    /** The dataset's label space; a dataset without one is refused naming the key. */
    static LabelSpace space(String uri, String key, Configuration hadoop) throws IOException {
        Optional<LabelSpace> s = LabelSpace.read(uri, hadoop);
        if (s.isEmpty()) {
            throw new io.hicmae.driver.config.ConfigException(key, uri, "the dataset has no labels (its _dataset.json "
                    + "names no label space); make one with hicmae prep --manifest labels.csv");
        }
        return s.get();
    }
}
