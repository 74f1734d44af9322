package io.hicmae.runtime.golden;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GoldenSuiteTest {

    static Path goldenDir() {
        return Path.of(System.getProperty("hicmae.golden.dir", "../../shared/golden"));
    }

    @Test
    void matchesTheAuthorsModelOnTheSharedGoldenSet() throws Exception {
        List<Check> checks = new GoldenSuite(new GoldenSet(goldenDir())).run();
        checks.forEach(System.out::println);
        List<Check> failed = checks.stream().filter(c -> !c.passed()).toList();
        assertTrue(checks.size() > 400, "expected hundreds of checks, ran " + checks.size());
        // The fine-tuning trainer's own path: soft targets, the loss and the 14 gradients from its flat buffer.
        assertEquals(16, checks.stream().filter(c -> c.name().startsWith("finetune_path.")).count());
        assertEquals(List.of(), failed);
    }
}
