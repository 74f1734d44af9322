package io.hicmae.driver.spark;

import io.hicmae.driver.config.ConfigException;
import org.apache.hadoop.conf.Configuration;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The driver's Hadoop configuration, built the way spark-submit builds it: Hadoop's defaults, the
 * {@code core-site.xml} and {@code hdfs-site.xml} of {@code HADOOP_CONF_DIR}, the {@code spark.hadoop.*} system
 * properties spark-submit sets, then the command line's {@code --conf spark.hadoop.*} keys, each winning over the one
 * before. Credentials are never read here: S3A takes them from the standard AWS chain (environment, profile, web
 * identity) or from a credentials provider these settings name.
 */
public final class HadoopConf {

    /** The environment variable naming the directory of the cluster's Hadoop client files. */
    public static final String CONF_DIR_ENV = "HADOOP_CONF_DIR";
    /** The files read from that directory, as spark-submit's classpath would. */
    public static final List<String> FILES = List.of("core-site.xml", "hdfs-site.xml");

    private HadoopConf() {}

    /** The configuration of a command that starts no Spark ({@code zoo}). */
    public static Configuration create(UserConf user) {
        Configuration conf = new Configuration();
        addConfDirFromEnv(conf);
        System.getProperties().stringPropertyNames().stream().sorted()
                .filter(k -> k.startsWith(UserConf.HADOOP_PREFIX))
                .forEach(k -> conf.set(k.substring(UserConf.HADOOP_PREFIX.length()), System.getProperty(k)));
        user.hadoop().forEach(conf::set);
        return conf;
    }

    /** Adds the Hadoop client files of {@code HADOOP_CONF_DIR}, when set, to a session's configuration. */
    public static void addConfDirFromEnv(Configuration conf) {
        addConfDir(conf, System.getenv(CONF_DIR_ENV));
    }

    /**
     * Adds the Hadoop client files of {@code dir} (null or empty: none) as resources of {@code conf}. Values set on
     * {@code conf} before or after stay in force over the files' (Hadoop keeps set values above its resources).
     *
     * @throws ConfigException when {@code dir} is given but is not a directory
     */
    public static void addConfDir(Configuration conf, String dir) {
        if (dir == null || dir.isBlank()) {
            return;
        }
        Path d = Path.of(dir);
        if (!Files.isDirectory(d)) {
            throw new ConfigException(CONF_DIR_ENV, dir, "is not a directory (it should hold core-site.xml and "
                    + "hdfs-site.xml)");
        }
        for (String name : FILES) {
            Path f = d.resolve(name);
            if (Files.isRegularFile(f)) {
                conf.addResource(new org.apache.hadoop.fs.Path(f.toUri()));
            }
        }
    }
}
