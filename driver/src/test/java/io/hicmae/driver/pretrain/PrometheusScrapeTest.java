package io.hicmae.driver.pretrain;

import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A live pre-training run in local mode with the Spark UI and the PrometheusServlet sink on, as docs/deploy.md
 * configures them: {@code /metrics/prometheus} on the driver UI serves the run's {@code hicmae} source under the run
 * id, and its step advances while the run trains.
 */
class PrometheusScrapeTest {

    @TempDir static Path dir;
    static SparkSession spark;

    @BeforeAll
    static void start() {
        spark = io.hicmae.driver.LocalSessions.training(2, "prometheus-test")
                .config("spark.ui.enabled", "true")
                .config("spark.ui.port", "0")
                .config("spark.metrics.conf.*.sink.prometheusServlet.class",
                        "org.apache.spark.metrics.sink.PrometheusServlet")
                .config("spark.metrics.conf.*.sink.prometheusServlet.path", "/metrics/prometheus")
                .getOrCreate();
    }

    @AfterAll
    static void stop() {
        spark.stop();
    }

    @Test
    void theStepOfALiveRunAdvancesOnTheDriversPrometheusEndpoint() throws Exception {
        Path data = dir.resolve("clips");
        ClipDatasets.write(spark, data, 12, 2, 5);
        Map<String, String> raw = new HashMap<>();
        raw.put("data", data.toString());
        raw.put("zoo", dir.resolve("zoo").toString());
        raw.put("preset", "tiny");
        raw.put("world-size", "2");
        raw.put("batch-size", "2");
        raw.put("epochs", "2");
        raw.put("checkpoint-every", "3");
        raw.put("run-id", "metrics-r1");
        raw.put("tensorboard", dir.resolve("tb").toString());
        String url = spark.sparkContext().uiWebUrl().get() + "/metrics/prometheus";
        CompletableFuture<PretrainJob.Outcome> run = CompletableFuture.supplyAsync(() -> {
            try {
                return new PretrainJob(PretrainConfig.parse(raw), new PrintStream(System.out, true)).run(spark);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        Pattern step = Pattern.compile(
                "^metrics_metrics_r1_driver_hicmae_step_Value\\{type=\"gauges\"} ([0-9.E]+)$", Pattern.MULTILINE);
        List<Double> seen = new ArrayList<>();
        String lastPage = "";
        while (!run.isDone()) {
            String page = scrape(url);
            Matcher m = step.matcher(page);
            if (m.find()) {
                double s = Double.parseDouble(m.group(1));
                if (seen.isEmpty() || seen.get(seen.size() - 1) != s) {
                    seen.add(s);
                }
                lastPage = page;
            }
            Thread.sleep(20);
        }
        PretrainJob.Outcome out = run.get(10, TimeUnit.SECONDS);
        assertEquals(6, out.steps());
        try (io.hicmae.zoo.ModelZoo z = io.hicmae.zoo.ModelZoo.open(dir.resolve("zoo").toString())) {
            io.hicmae.zoo.RunStatus status = z.runs().show("metrics-r1").status().orElseThrow();
            assertEquals("finished", status.state(), "the driver's run-status file");
            assertEquals(out.version().ref().toString(), status.publishedVersion());
            assertEquals(6, status.plannedSteps());
        }
        // --tensorboard: the same scalars as the metrics source, one event file per run.
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.list(dir.resolve("tb").resolve("metrics-r1"))) {
            Path events = files.filter(f -> f.getFileName().toString().startsWith("events.out.tfevents."))
                    .findFirst().orElseThrow();
            assertTrue(java.nio.file.Files.size(events) > 0);
        }
        assertTrue(seen.size() >= 2, "the step gauge should move during the run; saw " + seen);
        for (int i = 1; i < seen.size(); i++) {
            assertTrue(seen.get(i) > seen.get(i - 1), "the step only advances: " + seen);
        }
        for (String name : List.of("loss_Value", "loss_video_Value", "lr_Value", "grad_norm_Value",
                "clips_per_second_Value", "data_wait_ms_Value", "allreduce_ms_Value", "world_size_Value",
                "attempts_total_Value", "steps_total_Value", "compute_ms_total_Value")) {
            assertTrue(lastPage.contains("metrics_metrics_r1_driver_hicmae_" + name), name + " in\n" + lastPage);
        }
    }

    private static String scrape(String url) throws IOException {
        HttpURLConnection c = (HttpURLConnection) URI.create(url).toURL().openConnection();
        c.setConnectTimeout(5_000);
        c.setReadTimeout(5_000);
        try (InputStream in = c.getInputStream()) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            c.disconnect();
        }
    }
}
