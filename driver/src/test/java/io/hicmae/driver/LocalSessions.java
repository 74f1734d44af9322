package io.hicmae.driver;

import org.apache.spark.sql.SparkSession;

/** The local-mode Spark session the training-job tests share: loopback only, UI off, the jobs' Kryo classes. */
public final class LocalSessions {

    private LocalSessions() {}

    /** A builder for {@code local[cores]} named {@code app}; a test may add or override settings before getOrCreate. */
    public static SparkSession.Builder training(int cores, String app) {
        return SparkSession.builder().master("local[" + cores + "]").appName(app)
                .config("spark.ui.enabled", "false")
                .config("spark.driver.host", "127.0.0.1")
                .config("spark.driver.bindAddress", "127.0.0.1")
                .config("spark.serializer", "org.apache.spark.serializer.KryoSerializer")
                .config("spark.kryo.registrator", HicmaeKryoRegistrator.class.getName());
    }
}
