package io.hicmae.driver.pretrain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.driver.HicmaeCli;
import io.hicmae.driver.spark.ShippedFileSystem;
import io.hicmae.driver.spark.StageKeys;
import io.hicmae.driver.spark.UserConf;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code --conf} reaches the SparkConf over the job's defaults and the Hadoop configuration of every rank: the zoo
 * is on a scheme that only a {@code spark.hadoop.*} setting makes known, so a rank that opened it with a
 * {@code new Configuration()} would fail.
 */
class ShippedHadoopConfTest {

    @TempDir Path dir;

    @Test
    void userConfWinsOverSessionDefaultsAndRanksOpenTheZooWithTheDriversSettings() throws Exception {
        List<String> pairs = new ArrayList<>(ShippedFileSystem.CONF);
        pairs.add("spark.ui.enabled=true");
        pairs.add("spark.ui.port=0");
        UserConf user = UserConf.parse(pairs);
        Map<String, String> raw = new HashMap<>(Map.of("data", dir.resolve("clips").toString(),
                "zoo", ShippedFileSystem.uri(dir.resolve("zoo")), "preset", "tiny", StageKeys.WORLD_SIZE, "2",
                "batch-size", "2", "max-steps", "2", "checkpoint-every", "1", "io-timeout-s", "120"));
        PretrainConfig cfg = PretrainConfig.parse(raw);
        SparkSession spark = PretrainJob.session(cfg, user);
        try {
            assertEquals("true", spark.sparkContext().getConf().get("spark.ui.enabled"));
            assertTrue(spark.sparkContext().uiWebUrl().isDefined(), "the user's --conf turned the UI on");
            ClipDatasets.write(spark, dir.resolve("clips"), 8, 2, 5);
            ByteArrayOutputStream console = new ByteArrayOutputStream();
            PretrainJob.Outcome out = new PretrainJob(cfg, new PrintStream(console, true, StandardCharsets.UTF_8))
                    .run(spark);
            assertEquals(2, out.steps(), console.toString(StandardCharsets.UTF_8));
        } finally {
            spark.stop();
        }

        StringWriter text = new StringWriter();
        List<String> args = new ArrayList<>(List.of("zoo", "list", "--zoo", ShippedFileSystem.uri(dir.resolve("zoo"))));
        assertNotEquals(0, run(args, text), "without the setting the scheme is unknown");
        assertTrue(text.toString().contains("No FileSystem for scheme"), text.toString());
        ShippedFileSystem.CONF.forEach(c -> args.addAll(List.of("--conf", c)));
        assertEquals(0, run(args, text), text.toString());
        assertTrue(text.toString().contains("hicmae "), text.toString());
    }

    private static int run(List<String> args, StringWriter text) {
        text.getBuffer().setLength(0);
        CommandLine cli = HicmaeCli.newCommandLine();
        cli.setOut(new PrintWriter(text, true));
        cli.setErr(new PrintWriter(text, true));
        return cli.execute(args.toArray(String[]::new));
    }
}
