package io.hicmae.driver.spark;

import org.apache.hadoop.conf.Configuration;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.util.SerializableConfiguration;

import java.io.Serializable;

/**
 * The driver's Hadoop configuration shipped to executors as one broadcast, so that ranks and tasks open the zoo and
 * read data with the driver's endpoint, credentials provider and settings ({@code HADOOP_CONF_DIR},
 * {@code --conf spark.hadoop.*}) rather than with a {@code new Configuration()} that drops them.
 */
public final class ExecutorHadoopConf implements Serializable {

    private static final long serialVersionUID = 1L;

    private final Broadcast<SerializableConfiguration> conf;

    private ExecutorHadoopConf(Broadcast<SerializableConfiguration> conf) {
        this.conf = conf;
    }

    /** Broadcasts the session's Hadoop configuration as it is now. */
    public static ExecutorHadoopConf ship(SparkSession spark) {
        JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
        return new ExecutorHadoopConf(jsc.broadcast(new SerializableConfiguration(jsc.hadoopConfiguration())));
    }

    /** A copy of the driver's configuration, free to change. */
    public Configuration get() {
        return new Configuration(conf.value().value());
    }
}
