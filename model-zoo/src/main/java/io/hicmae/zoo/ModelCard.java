package io.hicmae.zoo;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;

/**
 * A version's model card: {@code README.md} with the name, version, lineage, final losses and config tables, and
 * {@code loss-curve.png}, the training chart of {@link TrainingChart}, drawn off-screen with JFreeChart.
 */
public final class ModelCard {
    public static final String README = "README.md";
    public static final String LOSS_CURVE = "loss-curve.png";
    private static final int WIDTH = 900;
    private static final int HEIGHT = 760;

    private ModelCard() {}

    /** Renders README.md; the loss-curve image is linked only when there are metrics to plot. */
    public static String readme(
            String model, String version, VersionMetadata md, String configJson, List<StepMetrics> metrics) {
        StringBuilder sb = new StringBuilder();
        sb.append("# ").append(model).append(' ').append(version).append("\n\n");
        sb.append("Published ").append(md.createdAt() == null ? "(not yet)" : md.createdAt())
                .append(" by training run `").append(md.runId()).append("` after ").append(md.steps())
                .append(" steps.\n\n");
        sb.append("## Lineage\n\n| | |\n|---|---|\n");
        row(sb, "Parent version", md.parentVersion() == null ? "none (trained from scratch)" : md.parentVersion());
        row(sb, "Dataset", md.dataset().toString());
        row(sb, "Dataset `_dataset.json` SHA-256", md.datasetDigest());
        row(sb, "Code version", md.codeVersion());
        sb.append("\n## Final losses\n\n| Loss | Value |\n|---|---|\n");
        md.finalLosses().forEach((k, v) -> row(sb, k, String.format("%.6f", v)));
        if (!metrics.isEmpty()) {
            sb.append("\n## Loss curve\n\n![Loss curve](").append(LOSS_CURVE).append(")\n");
        }
        sb.append("\n## Model config (`config.json`)\n\n| Key | Value |\n|---|---|\n");
        flatten("", JsonParser.parseString(configJson)).forEach((k, v) -> row(sb, k, v));
        sb.append("\n## Job config\n\n| Key | Value |\n|---|---|\n");
        flatten("", md.jobConfig()).forEach((k, v) -> row(sb, k, v));
        sb.append("\n## Use\n\n```python\nfrom safetensors.torch import load_file\n")
                .append("state_dict = load_file(\"").append(PublishRequest.WEIGHTS).append("\")\n```\n\n")
                .append("Every file is listed in `").append(Store.SUMS).append("`: check them with `sha256sum -c ")
                .append(Store.SUMS).append("`.\n");
        return sb.toString();
    }

    /** Draws the training chart ({@link TrainingChart}: losses, lr and gradient norm panels) as a PNG. */
    public static byte[] lossCurvePng(String title, List<StepMetrics> metrics) throws IOException {
        if (System.getProperty("java.awt.headless") == null) {
            System.setProperty("java.awt.headless", "true");
        }
        JFreeChart chart = TrainingChart.build(title, metrics);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(out, chart, WIDTH, HEIGHT);
        return out.toByteArray();
    }

    private static void row(StringBuilder sb, String key, String value) {
        sb.append("| ").append(cell(key)).append(" | ").append(cell(value)).append(" |\n");
    }

    private static String cell(String s) {
        return s.replace("|", "\\|").replace("\n", " ");
    }

    /** Nested objects become dotted keys: {@code {"a":{"b":1}}} is {@code a.b = 1}. */
    private static Map<String, String> flatten(String prefix, JsonElement e) {
        Map<String, String> out = new TreeMap<>();
        if (e.isJsonObject()) {
            for (Map.Entry<String, JsonElement> child : ((JsonObject) e).entrySet()) {
                out.putAll(flatten(prefix.isEmpty() ? child.getKey() : prefix + "." + child.getKey(), child.getValue()));
            }
        } else {
            out.put(prefix, e.isJsonPrimitive() ? e.getAsString() : e.toString());
        }
        return out;
    }
}
