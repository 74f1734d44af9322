package io.hicmae.driver.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.driver.config.ConfigException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class HadoopConfTest {

    @TempDir Path dir;

    static void site(Path file, String... keyValues) throws IOException {
        StringBuilder xml = new StringBuilder("<?xml version=\"1.0\"?>\n<configuration>\n");
        for (int i = 0; i < keyValues.length; i += 2) {
            xml.append("  <property><name>").append(keyValues[i]).append("</name><value>").append(keyValues[i + 1])
                    .append("</value></property>\n");
        }
        Files.writeString(file, xml.append("</configuration>\n").toString());
    }

    @Test
    void readsCoreAndHdfsSiteAndKeepsSetValuesAboveThem() throws IOException {
        site(dir.resolve("core-site.xml"), "fs.s3a.endpoint", "http://from-file:9000", "a.key", "core");
        site(dir.resolve("hdfs-site.xml"), "dfs.replication", "7");
        Configuration conf = new Configuration(false);
        conf.set("a.key", "set");
        HadoopConf.addConfDir(conf, dir.toString());
        assertEquals("http://from-file:9000", conf.get("fs.s3a.endpoint"));
        assertEquals("7", conf.get("dfs.replication"));
        assertEquals("set", conf.get("a.key"), "a value set on the configuration wins over the files");
    }

    @Test
    void aConfDirThatIsNotADirectoryIsRefusedNamingIt() {
        ConfigException e = assertThrows(ConfigException.class,
                () -> HadoopConf.addConfDir(new Configuration(false), dir.resolve("missing").toString()));
        assertTrue(e.getMessage().contains("HADOOP_CONF_DIR") && e.getMessage().contains("missing"), e.getMessage());
    }
}
