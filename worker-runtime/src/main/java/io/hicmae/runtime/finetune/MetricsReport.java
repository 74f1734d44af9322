package io.hicmae.runtime.finetune;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The metrics of one evaluation or of a k-fold run (one entry per fold), rendered as a text table and as JSON.
 * Every scalar metric gets its per-fold values, their mean and their sample standard deviation (n - 1; undefined,
 * shown as "-" and JSON null, for one fold). The table prints values x 100 as the paper does; the JSON keeps
 * fractions. Classification adds the confusion matrix summed over folds.
 */
public final class MetricsReport {

    /**
     * One scalar metric over the folds.
     *
     * @param metric key, e.g. "uar" or "ccc.valence"
     * @param folds value per fold
     * @param mean mean over folds
     * @param std sample standard deviation over folds; NaN for one fold
     */
    public record Summary(String metric, double[] folds, double mean, double std) {}

    private final Task.Kind kind;
    private final List<String> names;
    private final List<Summary> summaries;
    private final long[][] confusion;

    private MetricsReport(Task.Kind kind, List<String> names, List<Summary> summaries, long[][] confusion) {
        this.kind = kind;
        this.names = List.copyOf(names);
        this.summaries = List.copyOf(summaries);
        this.confusion = confusion;
    }

    /** A report over folds (one element for a single evaluation); {@code classNames} label the Q classes. */
    public static MetricsReport classification(List<String> classNames, List<ClassificationMetrics> folds) {
        requireFolds(folds);
        int q = classNames.size();
        long[][] sum = new long[q][q];
        for (int f = 0; f < folds.size(); f++) {
            long[][] m = folds.get(f).confusion();
            if (m.length != q) {
                throw new IllegalArgumentException("fold " + (f + 1) + " has " + m.length + " classes, expected " + q
                        + " (" + classNames + ")");
            }
            for (int i = 0; i < q; i++) {
                for (int j = 0; j < q; j++) {
                    sum[i][j] += m[i][j];
                }
            }
        }
        List<Summary> s = new ArrayList<>();
        s.add(summary("war", folds.stream().mapToDouble(ClassificationMetrics::war).toArray()));
        s.add(summary("uar", folds.stream().mapToDouble(ClassificationMetrics::uar).toArray()));
        s.add(summary("macro_f1", folds.stream().mapToDouble(ClassificationMetrics::macroF1).toArray()));
        s.add(summary("weighted_f1", folds.stream().mapToDouble(ClassificationMetrics::weightedF1).toArray()));
        return new MetricsReport(Task.Kind.CLASSIFICATION, classNames, s, sum);
    }

    /** A report over folds; {@code dimensionNames} label the D regression outputs. */
    public static MetricsReport regression(List<String> dimensionNames, List<RegressionMetrics> folds) {
        requireFolds(folds);
        int dims = dimensionNames.size();
        for (int f = 0; f < folds.size(); f++) {
            if (folds.get(f).pcc().length != dims) {
                throw new IllegalArgumentException("fold " + (f + 1) + " has " + folds.get(f).pcc().length
                        + " dimensions, expected " + dims + " (" + dimensionNames + ")");
            }
        }
        List<Summary> s = new ArrayList<>();
        for (String metric : new String[] {"pcc", "ccc"}) {
            for (int d = 0; d < dims; d++) {
                int dim = d;
                s.add(summary(metric + "." + dimensionNames.get(d), folds.stream()
                        .mapToDouble(r -> (metric.equals("pcc") ? r.pcc() : r.ccc())[dim]).toArray()));
            }
            s.add(summary(metric + ".mean", folds.stream()
                    .mapToDouble(r -> metric.equals("pcc") ? r.meanPcc() : r.meanCcc()).toArray()));
        }
        return new MetricsReport(Task.Kind.REGRESSION, dimensionNames, s, null);
    }

    private static void requireFolds(List<?> folds) {
        if (folds.isEmpty()) {
            throw new IllegalArgumentException("Invalid value 0 for configuration folds: must be at least 1");
        }
    }

    /** The mean and sample standard deviation of one metric's per-fold values. */
    public static Summary summary(String metric, double[] values) {
        double mean = 0;
        for (double v : values) {
            mean += v;
        }
        mean /= values.length;
        double ss = 0;
        for (double v : values) {
            ss += (v - mean) * (v - mean);
        }
        double std = values.length > 1 ? Math.sqrt(ss / (values.length - 1)) : Double.NaN;
        return new Summary(metric, values.clone(), mean, std);
    }

    public List<Summary> summaries() {
        return summaries;
    }

    /** Q x Q counts summed over folds, rows true class; null for regression. */
    public long[][] confusion() {
        return confusion;
    }

    /** Class or dimension names. */
    public List<String> names() {
        return names;
    }

    /** A fixed-width table: one row per metric (x 100), one column per fold plus mean and std; then the matrix. */
    public String table() {
        int folds = summaries.get(0).folds().length;
        int keyWidth = Math.max(6, summaries.stream().mapToInt(s -> s.metric().length()).max().orElse(6));
        StringBuilder t = new StringBuilder();
        t.append(pad("metric", keyWidth));
        for (int f = 0; f < folds; f++) {
            t.append(cell(folds == 1 ? "value" : "fold " + (f + 1)));
        }
        if (folds > 1) {
            t.append(cell("mean")).append(cell("std"));
        }
        t.append('\n');
        for (Summary s : summaries) {
            t.append(pad(s.metric(), keyWidth));
            for (double v : s.folds()) {
                t.append(cell(percent(v)));
            }
            if (folds > 1) {
                t.append(cell(percent(s.mean()))).append(cell(percent(s.std())));
            }
            t.append('\n');
        }
        if (confusion != null) {
            int w = Math.max(6, names.stream().mapToInt(String::length).max().orElse(6)) + 1;
            t.append('\n').append("confusion matrix").append(folds > 1 ? " (summed over folds)" : "")
                    .append(": rows true, columns predicted\n").append(pad("", w));
            names.forEach(n -> t.append(String.format(Locale.ROOT, "%" + w + "s", n)));
            t.append('\n');
            for (int i = 0; i < confusion.length; i++) {
                t.append(pad(names.get(i), w));
                for (long c : confusion[i]) {
                    t.append(String.format(Locale.ROOT, "%" + w + "d", c));
                }
                t.append('\n');
            }
        }
        return t.toString();
    }

    /** Pretty-printed JSON: task, names, folds, every metric (folds, mean, std; NaN as null), the matrix. */
    public String json() {
        JsonObject root = new JsonObject();
        root.addProperty("task", kind.name().toLowerCase(Locale.ROOT));
        JsonArray n = new JsonArray();
        names.forEach(n::add);
        root.add(kind == Task.Kind.CLASSIFICATION ? "classes" : "dimensions", n);
        root.addProperty("folds", summaries.get(0).folds().length);
        JsonObject metrics = new JsonObject();
        for (Summary s : summaries) {
            JsonObject m = new JsonObject();
            JsonArray values = new JsonArray();
            for (double v : s.folds()) {
                values.add(number(v));
            }
            m.add("folds", values);
            m.add("mean", number(s.mean()));
            m.add("std", number(s.std()));
            metrics.add(s.metric(), m);
        }
        root.add("metrics", metrics);
        if (confusion != null) {
            JsonArray rows = new JsonArray();
            for (long[] r : confusion) {
                JsonArray row = new JsonArray();
                for (long c : r) {
                    row.add(c);
                }
                rows.add(row);
            }
            root.add("confusion_matrix", rows);
        }
        return new GsonBuilder().serializeNulls().setPrettyPrinting().create().toJson(root);
    }

    private static com.google.gson.JsonElement number(double v) {
        return Double.isNaN(v) ? JsonNull.INSTANCE : new JsonPrimitive(v);
    }

    private static String percent(double v) {
        return Double.isNaN(v) ? "-" : String.format(Locale.ROOT, "%.2f", 100 * v);
    }

    private static String cell(String s) {
        return String.format(Locale.ROOT, "%9s", s);
    }

    private static String pad(String s, int width) {
        return String.format(Locale.ROOT, "%-" + width + "s", s);
    }
}
