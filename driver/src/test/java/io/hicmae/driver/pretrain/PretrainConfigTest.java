package io.hicmae.driver.pretrain;

import io.hicmae.driver.HicmaeCli;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PretrainConfigTest {

    @Test
    void defaultsAreDocumentedAndValid() {
        PretrainConfig c = PretrainConfig.parse(Map.of("data", "/tmp/clips"));
        assertEquals("./zoo", c.zoo());
        assertEquals(1, c.worldSize());
        assertEquals(0.0025, c.contrastiveWeight(), 0);
        assertEquals(0.0025f, c.modelConfig().contrastiveWeight(), 0);
    }

    @Test
    void allReduceDtypeDefaultsToFp32AndAcceptsBf16Only() {
        assertEquals(io.hicmae.runtime.allreduce.WireDtype.FP32,
                PretrainConfig.parse(Map.of("data", "x")).allReduceDtype());
        assertEquals(io.hicmae.runtime.allreduce.WireDtype.BF16,
                PretrainConfig.parse(Map.of("data", "x", "allreduce-dtype", "bf16")).allReduceDtype());
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> PretrainConfig.parse(Map.of("data", "x", "allreduce-dtype", "fp16")));
        assertTrue(e.getMessage().startsWith("Invalid value fp16 for configuration allreduce-dtype"), e.getMessage());
    }

    @Test
    void errorsNameTheKeyAndValue() {
        Exception e = assertThrows(IllegalArgumentException.class,
                () -> PretrainConfig.parse(Map.of("data", "x", "world-size", "0")));
        assertEquals("Invalid value 0 for configuration world-size: must be at least 1", e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PretrainConfig.parse(Map.of("data", "x", "preset", "huge")));
        assertTrue(e.getMessage().startsWith("Invalid value huge for configuration preset"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PretrainConfig.parse(Map.of("data", "x", "batch-size", "two")));
        assertEquals("Invalid value two for configuration batch-size: must be an integer", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PretrainConfig.parse(Map.of("zoo", "z")));
        assertTrue(e.getMessage().startsWith("Missing required configuration data"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PretrainConfig.parse(Map.of("data", "x", "lr", "1e-4", "min-lr", "1e-3")));
        assertTrue(e.getMessage().contains("min-lr"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class,
                () -> PretrainConfig.parse(Map.of("data", "x", "model", "../etc")));
        assertTrue(e.getMessage().startsWith("Invalid value ../etc for configuration model"), e.getMessage());
    }

    @Test
    void dryRunValidatesWithoutSparkAndHelpShowsDefaults() {
        StringWriter err = new StringWriter();
        var cli = HicmaeCli.newCommandLine();
        cli.setErr(new PrintWriter(err));
        assertEquals(0, cli.execute("pretrain", "--data", "/tmp/clips", "--world-size", "2", "--dry-run"));
        assertEquals(1, cli.execute("pretrain", "--data", "/tmp/clips", "--epochs", "-1", "--dry-run"));
        assertTrue(err.toString().contains("Invalid value -1 for configuration epochs"), err.toString());
        StringWriter out = new StringWriter();
        cli.setOut(new PrintWriter(out));
        cli.execute("pretrain", "--help");
        assertTrue(out.toString().contains("--world-size") && out.toString().contains("(default: 1)"), out.toString());
    }
}
