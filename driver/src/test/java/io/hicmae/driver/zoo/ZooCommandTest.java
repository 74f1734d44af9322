package io.hicmae.driver.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.driver.CliRun;
import io.hicmae.zoo.ContentWriter;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.StepMetrics;
import io.hicmae.zoo.VersionMetadata;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ZooCommandTest {
    @TempDir Path dir;
    private String zoo;
    private final CliRun cli = new CliRun();

    @BeforeEach
    void publishTwoVersions() throws IOException {
        zoo = dir.resolve("zoo").toString();
        // Published two days ago: gc keeps a version a day after it stops being the newest.
        try (ModelZoo z = ModelZoo.builder(zoo).optClock(Clock.offset(Clock.systemUTC(), Duration.ofDays(-2))).open()) {
            for (int i = 1; i <= 2; i++) {
                z.publish(PublishRequest.builder("hicmae-base")
                        .setWeights(ContentWriter.of(("weights " + i).getBytes(StandardCharsets.UTF_8)))
                        .setConfig("{\"depth\": 2}")
                        .setMetadata(VersionMetadata.builder()
                                .setRunId("run-" + i)
                                .setDataset(URI.create("file:/data"), "b".repeat(64))
                                .setSteps(10)
                                .setFinalLosses(Map.of("loss", 0.5))
                                .setCodeVersion("abc")
                                .build())
                        .optMetrics(List.of(new StepMetrics(10, Map.of("loss", 0.5))))
                        .build());
            }
        }
    }

    private int run(String... args) {
        return cli.run(args);
    }

    @Test
    void listsModelsAndVersionsAsTablesAndJson() {
        assertEquals(0, run("zoo", "list", "--zoo", zoo));
        assertTrue(cli.out().startsWith("MODEL        VERSIONS  LATEST   ALIASES\nhicmae-base  2         v000002"),
                cli.out());

        assertEquals(0, run("zoo", "list", "hicmae-base", "--zoo", zoo, "--json"));
        var versions = JsonParser.parseString(cli.out()).getAsJsonArray();
        assertEquals("v000002", versions.get(1).getAsJsonObject().get("version").getAsString());
    }

    @Test
    void showsVerifiesPromotesAndPulls() throws IOException {
        assertEquals(0, run("zoo", "show", "hicmae-base:1", "--zoo", zoo, "--json"));
        JsonObject shown = JsonParser.parseString(cli.out()).getAsJsonObject();
        assertEquals("run-1", shown.getAsJsonObject("metadata").get("runId").getAsString());

        assertEquals(0, run("zoo", "verify", "hicmae-base", "--zoo", zoo));
        assertEquals("OK hicmae-base:v000002: every file matches SHA256SUMS\n", cli.out());

        assertEquals(0, run("zoo", "promote", "hicmae-base:1", "production", "--zoo", zoo, "--expect", "none"));
        assertEquals("hicmae-base@production -> v000001\n", cli.out());
        assertEquals(1, run("zoo", "promote", "hicmae-base:2", "production", "--zoo", zoo, "--expect", "v000002"));
        assertTrue(cli.err().contains("Alias production of model hicmae-base points at v000001, not v000002"),
                cli.err());

        Path dest = dir.resolve("pulled");
        assertEquals(0, run("zoo", "pull", "hicmae-base@production", dest.toString(), "--zoo", zoo,
                "--cache-dir", dir.resolve("cache").toString()));
        assertEquals("weights 1", Files.readString(dest.resolve("model.safetensors")));
    }

    @Test
    void gcDryRunsUnlessToldToDelete() {
        assertEquals(0, run("zoo", "gc", "--keep", "1", "--zoo", zoo));
        assertTrue(cli.out().contains("OLD_VERSION  hicmae-base:v000001"), cli.out());
        assertTrue(cli.out().contains("Dry run: nothing deleted."), cli.out());

        assertEquals(0, run("zoo", "gc", "--keep", "1", "--delete", "--zoo", zoo));
        assertEquals(0, run("zoo", "list", "hicmae-base", "--zoo", zoo));
        assertEquals(2, cli.out().lines().count(), cli.out());
    }

    @Test
    void listsACorruptVersionWithItsReasonAndGcDeletesIt() throws IOException {
        Path marker = dir.resolve("zoo/hicmae-base/v000001/_COMMITTED");
        Files.writeString(marker, "not json");

        assertEquals(0, run("zoo", "list", "--zoo", zoo));
        assertTrue(cli.out().contains("hicmae-base  1         v000002"), cli.out());
        assertTrue(cli.out().contains("CORRUPT hicmae-base:v000001: file:" + marker + ": "), cli.out());
        assertEquals(0, run("zoo", "verify", "hicmae-base:2", "--zoo", zoo));

        assertEquals(0, run("zoo", "gc", "--keep", "5", "--delete", "--zoo", zoo));
        assertTrue(cli.out().contains("CORRUPT"), cli.out());
        assertEquals(0, run("zoo", "list", "hicmae-base", "--zoo", zoo, "--json"));
        assertEquals(1, JsonParser.parseString(cli.out()).getAsJsonArray().size(), cli.out());
        assertTrue(Files.exists(dir.resolve("zoo/hicmae-base/v000002/_COMMITTED")));
    }

    @Test
    void failsWithOneLineNamingTheProblem() {
        assertEquals(1, run("zoo", "show", "../x", "--zoo", zoo));
        assertEquals("hicmae show: Invalid value \"../x\" for model name: use 1 to 64 of a-z 0-9 . _ -, starting with a"
                + " letter or digit\n", cli.err());

        assertEquals(1, run("zoo", "verify", "hicmae-base:7", "--zoo", zoo));
        assertTrue(cli.err().startsWith("hicmae verify: No version v000007 of model hicmae-base in file:"),
                cli.err());
    }
}
