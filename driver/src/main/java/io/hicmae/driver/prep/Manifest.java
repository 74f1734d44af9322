package io.hicmae.driver.prep;

import io.hicmae.driver.prep.CsvReader.CsvRecord;
import io.hicmae.runtime.data.ClipLabels;
import io.hicmae.runtime.data.LabelSpace;
import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * A CSV manifest of labelled videos (RFC 4180, UTF-8, see {@link CsvReader}); only the videos it lists are prepared,
 * each clip row carrying its video's labels.
 *
 * <p>The header names the columns, in any order; it decides the kind of dataset:
 *
 * <ul>
 *   <li>categorical: {@code path,label[,split][,fold]}. The classes are the distinct label strings, sorted
 *       (numerically when every label is an integer, so labels {@code 0..K-1} keep their index), and a video's class
 *       index is its label's position in that list.
 *   <li>dimensional: {@code path,<dim1>,<dim2>,...[,split][,fold]}: every column other than {@code path},
 *       {@code split} and {@code fold} is a dimension, a float target, in header order.
 * </ul>
 *
 * <p>{@code path} is relative to the manifest's directory, or absolute (a path or a URI). Cells are trimmed; blank
 * lines are skipped. An empty {@code split} or {@code fold} cell means none for that video; {@code label},
 * dimensions and {@code path} must not be empty. {@code fold} is an integer from 0. A video listed twice (after
 * resolving its path) is an error. Every error names the manifest, the line and the column.
 */
final class Manifest {

    static final String PATH = "path";
    static final String LABEL = "label";
    static final String SPLIT = "split";
    static final String FOLD = "fold";

    /**
     * One listed video.
     *
     * @param path its resolved path, qualified on its file system
     * @param line the manifest line it is on
     * @param labels its labels
     */
    record Entry(Path path, int line, ClipLabels labels) {}

    private final String file;
    private final Path root;
    private final LabelSpace space;
    private final List<Entry> entries;

    private Manifest(String file, Path root, LabelSpace space, List<Entry> entries) {
        this.file = file;
        this.root = root;
        this.space = space;
        this.entries = List.copyOf(entries);
    }

    /** The manifest's URI, as given. */
    String file() {
        return file;
    }

    /** The manifest's directory, qualified: relative paths and the videos' sources are relative to it. */
    Path root() {
        return root;
    }

    LabelSpace space() {
        return space;
    }

    /** The listed videos in manifest order. */
    List<Entry> entries() {
        return entries;
    }

    /**
     * Reads and checks a manifest; the listed files are not looked at (see {@link InputListing#list(Manifest,
     * Configuration)}).
     *
     * @throws IllegalArgumentException naming the manifest, line and column of the first error
     */
    static Manifest read(String uri, Configuration conf) throws IOException {
        Path path = new Path(uri);
        FileSystem fs = path.getFileSystem(conf);
        Path qualified = fs.makeQualified(path);
        List<CsvRecord> records;
        try (Reader in = new BufferedReader(new InputStreamReader(fs.open(qualified), StandardCharsets.UTF_8))) {
            records = new CsvReader("manifest " + uri, in).readAll();
        } catch (FileNotFoundException e) {
            throw PrepConfig.invalid(PrepConfig.MANIFEST, uri, "no such file");
        }
        return parse(uri, qualified.getParent(), records, conf);
    }

    private static Manifest parse(String file, Path root, List<CsvRecord> records, Configuration conf)
            throws IOException {
        List<CsvRecord> rows = records.stream().filter(r -> !r.isBlank()).toList();
        if (rows.isEmpty()) {
            throw new IllegalArgumentException("Invalid manifest " + file + ": empty; its first line must be a header"
                    + " such as path,label,split,fold");
        }
        CsvRecord header = rows.get(0);
        Map<String, Integer> columns = new LinkedHashMap<>();
        for (int c = 0; c < header.fields().size(); c++) {
            String name = header.fields().get(c).strip();
            if (name.isEmpty()) {
                throw error(file, header.line(), "column " + (c + 1), "the header names no column here");
            }
            if (columns.putIfAbsent(name, c) != null) {
                throw error(file, header.line(), "column " + (c + 1), "'" + name + "' is named twice in the header");
            }
        }
        if (!columns.containsKey(PATH)) {
            throw error(file, header.line(), "header", "no '" + PATH + "' column in " + header.fields() + "; the first"
                    + " line must be a header such as path,label,split,fold (categorical) or path,arousal,valence"
                    + " (dimensional)");
        }
        List<String> dimensions = columns.keySet().stream()
                .filter(n -> !List.of(PATH, LABEL, SPLIT, FOLD).contains(n)).toList();
        boolean categorical = columns.containsKey(LABEL);
        if (categorical && !dimensions.isEmpty()) {
            throw error(file, header.line(), "column '" + dimensions.get(0) + "'", "unknown column; a categorical"
                    + " manifest (with a '" + LABEL + "' column) has only path, label, split and fold");
        }
        if (!categorical && dimensions.isEmpty()) {
            throw error(file, header.line(), "header", "neither a '" + LABEL + "' column (categorical) nor dimension"
                    + " columns (dimensional) in " + header.fields());
        }

        List<Row> parsed = new ArrayList<>();
        Map<String, Integer> seen = new HashMap<>();
        for (CsvRecord r : rows.subList(1, rows.size())) {
            if (r.fields().size() != columns.size()) {
                throw error(file, r.line(), "row", r.fields().size() + " fields, the header has " + columns.size());
            }
            String raw = cell(r, columns, PATH);
            if (raw.isEmpty()) {
                throw error(file, r.line(), "column '" + PATH + "'", "empty path");
            }
            Path video = resolve(root, raw, conf);
            Integer before = seen.putIfAbsent(video.toString(), r.line());
            if (before != null) {
                throw error(file, r.line(), "column '" + PATH + "'", video + " is listed twice, also on line "
                        + before);
            }
            String split = columns.containsKey(SPLIT) ? cell(r, columns, SPLIT) : "";
            int fold = ClipLabels.NO_FOLD;
            if (columns.containsKey(FOLD) && !cell(r, columns, FOLD).isEmpty()) {
                String f = cell(r, columns, FOLD);
                try {
                    fold = Integer.parseInt(f);
                } catch (NumberFormatException e) {
                    fold = -2;
                }
                if (fold < 0) {
                    throw error(file, r.line(), "column '" + FOLD + "'", "'" + f + "' is not an integer from 0");
                }
            }
            String label = null;
            float[] values = new float[dimensions.size()];
            if (categorical) {
                label = cell(r, columns, LABEL);
                if (label.isEmpty()) {
                    throw error(file, r.line(), "column '" + LABEL + "'", "empty label");
                }
            }
            for (int d = 0; d < values.length; d++) {
                String v = cell(r, columns, dimensions.get(d));
                try {
                    values[d] = Float.parseFloat(v);
                } catch (NumberFormatException e) {
                    values[d] = Float.NaN;
                }
                if (!Float.isFinite(values[d])) {
                    throw error(file, r.line(), "column '" + dimensions.get(d) + "'", v.isEmpty() ? "empty value"
                            : "'" + v + "' is not a finite number");
                }
            }
            parsed.add(new Row(video, r.line(), label, values, split.isEmpty() ? null : split, fold));
        }
        if (parsed.isEmpty()) {
            throw new IllegalArgumentException("Invalid manifest " + file + ": no video listed after the header");
        }

        LabelSpace space;
        List<Entry> entries = new ArrayList<>();
        if (categorical) {
            List<String> classes = classes(parsed.stream().map(Row::label).distinct().toList());
            space = new LabelSpace(LabelSpace.Kind.CATEGORICAL, classes);
            Map<String, Integer> index = new HashMap<>();
            classes.forEach(c -> index.put(c, index.size()));
            for (Row p : parsed) {
                entries.add(new Entry(p.path, p.line, ClipLabels.categorical(index.get(p.label), p.split, p.fold)));
            }
        } else {
            space = new LabelSpace(LabelSpace.Kind.DIMENSIONAL, dimensions);
            for (Row p : parsed) {
                entries.add(new Entry(p.path, p.line, ClipLabels.dimensional(p.values, p.split, p.fold)));
            }
        }
        return new Manifest(file, root, space, entries);
    }

    /** A data row before the class indices are known. */
    private record Row(Path path, int line, String label, float[] values, String split, int fold) {}

    /** Sorted class names: numerically when all are integers, else as strings. */
    static List<String> classes(List<String> labels) {
        boolean integers = labels.stream().allMatch(l -> l.matches("[+-]?\\d{1,18}"));
        Comparator<String> order = integers
                ? Comparator.<String>comparingLong(Long::parseLong).thenComparing(Comparator.naturalOrder())
                : Comparator.naturalOrder();
        return labels.stream().sorted(order).toList();
    }

    private static String cell(CsvRecord r, Map<String, Integer> columns, String name) {
        return r.fields().get(columns.get(name)).strip();
    }

    /** Like a list file's entries: relative to the manifest's directory unless absolute; qualified. */
    private static Path resolve(Path root, String entry, Configuration conf) throws IOException {
        Path p = InputListing.resolveListed(root, entry);
        return p.getFileSystem(conf).makeQualified(p);
    }

    private static IllegalArgumentException error(String file, int line, String where, String problem) {
        return new IllegalArgumentException("Invalid manifest " + file + ", line " + line + ", " + where + ": "
                + problem);
    }

    /**
     * What the manifest holds, for {@code --dry-run}: the label space, then videos per class (categorical) or each
     * dimension's range (dimensional), per split and per fold.
     */
    List<String> summary() {
        List<String> out = new ArrayList<>();
        out.add("manifest " + file + ": " + entries.size() + " videos, " + space.kind().label() + " labels "
                + space.names());
        if (space.kind() == LabelSpace.Kind.CATEGORICAL) {
            Map<String, Long> perClass = new LinkedHashMap<>();
            space.names().forEach(n -> perClass.put(n, 0L));
            entries.forEach(e -> perClass.merge(space.names().get(e.labels().category()), 1L, Long::sum));
            perClass.forEach((k, v) -> out.add("  class " + k + ": " + v + " videos"));
        } else {
            for (int d = 0; d < space.size(); d++) {
                int dim = d;
                var stats = entries.stream().mapToDouble(e -> e.labels().dimensions()[dim]).summaryStatistics();
                out.add(String.format(Locale.ROOT, "  %s: min %.4g, mean %.4g, max %.4g", space.names().get(d),
                        stats.getMin(), stats.getAverage(), stats.getMax()));
            }
        }
        Map<String, Long> perSplit = new TreeMap<>();
        Map<Integer, Long> perFold = new TreeMap<>();
        for (Entry e : entries) {
            perSplit.merge(e.labels().split() == null ? "(none)" : e.labels().split(), 1L, Long::sum);
            perFold.merge(e.labels().fold(), 1L, Long::sum);
        }
        perSplit.forEach((k, v) -> out.add("  split " + k + ": " + v + " videos"));
        perFold.forEach((k, v) -> out.add("  fold " + (k == ClipLabels.NO_FOLD ? "(none)" : k) + ": " + v
                + " videos"));
        return out;
    }
}
