package io.hicmae.driver.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import io.hicmae.driver.HicmaeCli;
import io.hicmae.zoo.ContentWriter;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.StepMetrics;
import io.hicmae.zoo.VersionMetadata;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
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
import picocli.CommandLine;

class ZooCommandTest {
    @TempDir Path dir;
    private String zoo;
    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

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
        out.getBuffer().setLength(0);
        err.getBuffer().setLength(0);
        CommandLine cli = HicmaeCli.newCommandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void listsModelsAndVersionsAsTablesAndJson() {
        assertEquals(0, run("zoo", "list", "--zoo", zoo));
        assertTrue(out.toString().startsWith("MODEL        VERSIONS  LATEST   ALIASES\nhicmae-base  2         v000002"),
                out.toString());

        assertEquals(0, run("zoo", "list", "hicmae-base", "--zoo", zoo, "--json"));
        var versions = JsonParser.parseString(out.toString()).getAsJsonArray();
        assertEquals("v000002", versions.get(1).getAsJsonObject().get("version").getAsString());
    }

    @Test
    void showsVerifiesPromotesAndPulls() throws IOException {
        assertEquals(0, run("zoo", "show", "hicmae-base:1", "--zoo", zoo, "--json"));
        JsonObject shown = JsonParser.parseString(out.toString()).getAsJsonObject();
        assertEquals("run-1", shown.getAsJsonObject("metadata").get("runId").getAsString());

        assertEquals(0, run("zoo", "verify", "hicmae-base", "--zoo", zoo));
        assertEquals("OK hicmae-base:v000002: every file matches SHA256SUMS\n", out.toString());

        assertEquals(0, run("zoo", "promote", "hicmae-base:1", "production", "--zoo", zoo, "--expect", "none"));
        assertEquals("hicmae-base@production -> v000001\n", out.toString());
        assertEquals(1, run("zoo", "promote", "hicmae-base:2", "production", "--zoo", zoo, "--expect", "v000002"));
        assertTrue(err.toString().contains("Alias production of model hicmae-base points at v000001, not v000002"),
                err.toString());

        Path dest = dir.resolve("pulled");
        assertEquals(0, run("zoo", "pull", "hicmae-base@production", dest.toString(), "--zoo", zoo,
                "--cache-dir", dir.resolve("cache").toString()));
        assertEquals("weights 1", Files.readString(dest.resolve("model.safetensors")));
    }

    @Test
    void gcDryRunsUnlessToldToDelete() {
        assertEquals(0, run("zoo", "gc", "--keep", "1", "--zoo", zoo));
        assertTrue(out.toString().contains("OLD_VERSION  hicmae-base:v000001"), out.toString());
        assertTrue(out.toString().contains("Dry run: nothing deleted."), out.toString());

        assertEquals(0, run("zoo", "gc", "--keep", "1", "--delete", "--zoo", zoo));
        assertEquals(0, run("zoo", "list", "hicmae-base", "--zoo", zoo));
        assertEquals(2, out.toString().lines().count(), out.toString());
    }

    @Test
    void listsACorruptVersionWithItsReasonAndGcDeletesIt() throws IOException {
        Path marker = dir.resolve("zoo/hicmae-base/v000001/_COMMITTED");
        Files.writeString(marker, "not json");

        assertEquals(0, run("zoo", "list", "--zoo", zoo));
        assertTrue(out.toString().contains("hicmae-base  1         v000002"), out.toString());
        assertTrue(out.toString().contains("CORRUPT hicmae-base:v000001: file:" + marker + ": "), out.toString());
        assertEquals(0, run("zoo", "verify", "hicmae-base:2", "--zoo", zoo));

        assertEquals(0, run("zoo", "gc", "--keep", "5", "--delete", "--zoo", zoo));
        assertTrue(out.toString().contains("CORRUPT"), out.toString());
        assertEquals(0, run("zoo", "list", "hicmae-base", "--zoo", zoo, "--json"));
        assertEquals(1, JsonParser.parseString(out.toString()).getAsJsonArray().size(), out.toString());
        assertTrue(Files.exists(dir.resolve("zoo/hicmae-base/v000002/_COMMITTED")));
    }

    @Test
    void failsWithOneLineNamingTheProblem() {
        assertEquals(1, run("zoo", "show", "../x", "--zoo", zoo));
        assertEquals("hicmae show: Invalid value \"../x\" for model name: use 1 to 64 of a-z 0-9 . _ -, starting with a"
                + " letter or digit\n", err.toString());

        assertEquals(1, run("zoo", "verify", "hicmae-base:7", "--zoo", zoo));
        assertTrue(err.toString().startsWith("hicmae verify: No version v000007 of model hicmae-base in file:"),
                err.toString());
    }
}
