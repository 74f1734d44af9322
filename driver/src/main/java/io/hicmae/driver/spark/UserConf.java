package io.hicmae.driver.spark;

import io.hicmae.driver.config.ConfigException;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code --conf KEY=VALUE} settings of one command line, in spark-submit's spelling: {@code spark.*} keys go to
 * the SparkConf (and win over the job's defaults), {@code spark.hadoop.*} keys (also in the SparkConf, which copies
 * them) to the Hadoop configuration without their prefix. Any other key is refused, naming it, before any work.
 *
 * @param spark every given key, in order; a key given twice keeps its last value, as spark-submit does
 */
public record UserConf(Map<String, String> spark) {

    /** The option's name on every command. */
    public static final String OPTION = "--conf";
    /** Hadoop keys given through Spark carry this prefix. */
    public static final String HADOOP_PREFIX = "spark.hadoop.";
    /** No settings. */
    public static final UserConf NONE = new UserConf(Map.of());

    public UserConf {
        spark = Collections.unmodifiableMap(new LinkedHashMap<>(spark));
    }

    /** The settings of a Spark command: {@code spark.*} and {@code spark.hadoop.*} keys. */
    public static UserConf parse(List<String> pairs) {
        return parse(pairs, false);
    }

    /** The settings of a command that starts no Spark ({@code zoo}): {@code spark.hadoop.*} keys only. */
    public static UserConf parseHadoopOnly(List<String> pairs) {
        return parse(pairs, true);
    }

    private static UserConf parse(List<String> pairs, boolean hadoopOnly) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String pair : pairs == null ? List.<String>of() : pairs) {
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException(OPTION, pair, "expected KEY=VALUE, e.g. "
                        + "spark.hadoop.fs.s3a.endpoint=http://minio:9000");
            }
            String key = pair.substring(0, eq).trim();
            String value = pair.substring(eq + 1);
            if (key.startsWith(HADOOP_PREFIX)) {
                if (key.length() == HADOOP_PREFIX.length()) {
                    throw new ConfigException(OPTION, pair, "the Hadoop key after spark.hadoop. is empty");
                }
            } else if (hadoopOnly) {
                throw new ConfigException(OPTION + " " + key, value, "this command starts no Spark, so only "
                        + "Hadoop settings apply here: spark.hadoop.<hadoop key>"
                        + (key.startsWith("spark.") ? "" : " (did you mean spark.hadoop." + key + "?)"));
            } else if (!key.startsWith("spark.")) {
                throw new ConfigException(OPTION + " " + key, value, "unknown key: Spark settings start with "
                        + "spark. and Hadoop settings with spark.hadoop. (did you mean spark.hadoop." + key + "?)");
            }
            out.put(key, value);
        }
        return new UserConf(out);
    }

    /** The Hadoop settings: the {@code spark.hadoop.*} keys without their prefix. */
    public Map<String, String> hadoop() {
        Map<String, String> out = new LinkedHashMap<>();
        spark.forEach((k, v) -> {
            if (k.startsWith(HADOOP_PREFIX)) {
                out.put(k.substring(HADOOP_PREFIX.length()), v);
            }
        });
        return out;
    }
}
