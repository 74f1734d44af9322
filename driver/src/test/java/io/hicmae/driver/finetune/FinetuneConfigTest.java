package io.hicmae.driver.finetune;

import io.hicmae.driver.HicmaeCli;
import io.hicmae.driver.config.ConfigException;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FinetuneConfigTest {

    private static FinetuneConfig parse(String... kv) {
        Map<String, String> raw = new HashMap<>(Map.of("from", "hicmae", "train", "/data/crema"));
        for (int i = 0; i < kv.length; i += 2) {
            raw.put(kv[i], kv[i + 1]);
        }
        return FinetuneConfig.parse(raw);
    }

    private static void rejects(String start, String... kv) {
        ConfigException e = assertThrows(ConfigException.class, () -> parse(kv));
        assertTrue(e.getMessage().startsWith(start), e.getMessage());
    }

    @Test
    void defaultsAreTheAuthorsRecipe() {
        FinetuneConfig c = parse();
        assertEquals(1e-3, c.lr());
        assertEquals(1e-6, c.minLr());
        assertEquals(0.9, c.beta1());
        assertEquals(0.999, c.beta2());
        assertEquals(0.05, c.weightDecay());
        assertEquals(0.75, c.layerDecay());
        assertEquals(0.1, c.dropPath());
        assertEquals(0.1, c.smoothing());
        assertEquals(0.8, c.mixup().mixupAlpha());
        assertEquals(1.0, c.mixup().cutmixAlpha());
        assertEquals(5.0, c.warmupEpochs());
        assertEquals("/data/crema", c.val(), "val defaults to the train dataset");
        assertEquals("hicmae-ft", c.model());
    }

    @Test
    void linearProbeTakesTheProbeDefaultsForUnsetKeysOnly() {
        FinetuneConfig c = parse("linear-probe", "true", "weight-decay", "0.01");
        assertEquals(0.0, c.dropPath());
        assertEquals(0.0, c.smoothing());
        assertEquals(0.0, c.mixup().mixupAlpha());
        assertEquals(1.0, c.layerDecay());
        assertEquals(0.1, c.lr());
        assertEquals(0.01, c.weightDecay(), "a key the user set keeps its value");
    }

    @Test
    void badValuesAreRefusedNamingTheKey() {
        rejects("Invalid value 0 for configuration batch-size", "batch-size", "0");
        rejects("Invalid value 1 for configuration folds", "folds", "1");
        rejects("Invalid value 0.2 for configuration drop-path", "linear-probe", "true", "drop-path", "0.2");
        rejects("Invalid value 0.01 for configuration min-lr", "lr", "0.001", "min-lr", "0.01");
        rejects("Invalid value /other for configuration val", "folds", "5", "val", "/other");
        rejects("Invalid value a:b@c for configuration from", "from", "a:b@c");
        assertThrows(ConfigException.class, () -> FinetuneConfig.parse(Map.of("train", "/d")), "from is required");
    }

    @Test
    void evaluateRefusesAVersionWithFolds() {
        ConfigException e = assertThrows(ConfigException.class, () -> EvaluateConfig.parse(
                Map.of("model", "emo:3", "data", "/d", "folds", "5")));
        assertTrue(e.getMessage().startsWith("Invalid value emo:3 for configuration model"), e.getMessage());
        assertEquals("emo-fold2@best", EvaluateConfig.parse(Map.of("model", "emo@best", "data", "/d", "folds", "5"))
                .modelRef(2).toString());
    }

    @Test
    void dryRunPrintsTheValidatedConfigAndABareLinearProbeFlagMeansTrue() {
        StringWriter out = new StringWriter();
        java.io.PrintStream old = System.out;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        System.setOut(new java.io.PrintStream(buf, true));
        int rc;
        try {
            var cli = HicmaeCli.newCommandLine();
            cli.setOut(new PrintWriter(out));
            rc = cli.execute("finetune", "--from", "hicmae@nightly", "--train", "/d", "--linear-probe", "--dry-run");
        } finally {
            System.setOut(old);
        }
        assertEquals(0, rc);
        String printed = buf.toString();
        assertTrue(printed.contains("linear-probe = true") && printed.contains("mixup = 0.0"), printed);
    }
}
