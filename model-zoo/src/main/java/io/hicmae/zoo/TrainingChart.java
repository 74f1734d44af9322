package io.hicmae.zoo;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Paint;
import java.awt.Stroke;
import java.text.DecimalFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.NumberTickUnit;
import org.jfree.chart.axis.ValueAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

/**
 * The model card's training chart, built as JFreeChart objects (so tests can check its structure): panels sharing
 * the step axis, top to bottom: the loss terms (log scale when they span two decades or more; each term's raw values
 * thin and pale under its exponentially smoothed line), validation scores when there are any, the learning rate, and
 * the gradient norm (raw and smoothed). Dashed vertical lines mark where the world size changed and where the run
 * resumed from a checkpoint. White background, Okabe-Ito colours (distinct for colour-blind readers) with a dash
 * pattern per term, so the lines stay apart in grey-scale print.
 *
 * <p>It reads these names from {@link StepMetrics#losses()}: {@value #LR}, {@value #GRAD_NORM}, {@value #WORLD_SIZE}
 * and {@value #RESUMED} (1 on the first step after a resume), {@code val_*} (validation scores); every other name is a
 * loss term.
 */
public final class TrainingChart {

    public static final String LR = "lr";
    public static final String GRAD_NORM = "grad_norm";
    public static final String WORLD_SIZE = "world_size";
    public static final String RESUMED = "resumed";
    /** The suffix of a smoothed series' key; the raw series has the plain name. */
    public static final String SMOOTHED = " (smoothed)";

    /** Okabe-Ito, less its yellow (too faint on white). */
    static final Color[] PALETTE = {
        new Color(0x00, 0x72, 0xB2), new Color(0xD5, 0x5E, 0x00), new Color(0x00, 0x9E, 0x73),
        new Color(0xCC, 0x79, 0xA7), new Color(0xE6, 0x9F, 0x00), new Color(0x56, 0xB4, 0xE9), Color.BLACK,
    };
    private static final float[][] DASHES = {null, {8f, 4f}, {2f, 3f}, {8f, 3f, 2f, 3f}};
    static final Color MARK_WORLD = new Color(0x55, 0x55, 0x55);
    static final Color MARK_RESUME = new Color(0xD5, 0x5E, 0x00);

    private TrainingChart() {}

    /** The chart of {@code metrics} (in step order or not). */
    public static JFreeChart build(String title, List<StepMetrics> metrics) {
        List<StepMetrics> rows = new ArrayList<>(metrics);
        rows.sort((a, b) -> Long.compare(a.step(), b.step()));
        TreeSet<String> names = new TreeSet<>();
        rows.forEach(m -> names.addAll(m.losses().keySet()));
        List<String> losses = new ArrayList<>();
        List<String> scores = new ArrayList<>();
        for (String n : names) {
            if (n.startsWith("val_")) {
                scores.add(n);
            } else if (!n.equals(LR) && !n.equals(GRAD_NORM) && !n.equals(WORLD_SIZE) && !n.equals(RESUMED)) {
                losses.add(n);
            }
        }
        if (losses.remove("loss")) {
            losses.add(0, "loss"); // the total first: the darkest colour, solid
        }
        NumberAxis step = new NumberAxis("step");
        step.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(step);
        int[] colour = {0}; // running over the panels, so that every legend entry has its own colour
        plot.setGap(10);
        plot.setBackgroundPaint(Color.WHITE);
        if (!losses.isEmpty()) {
            plot.add(panel("loss", rows, losses, true, colour), 3);
        }
        if (!scores.isEmpty()) {
            plot.add(panel("validation", rows, scores, false, colour), 2);
        }
        if (names.contains(LR)) {
            XYPlot lr = panel("learning rate", rows, List.of(LR), false, colour);
            ((NumberAxis) lr.getRangeAxis()).setNumberFormatOverride(new DecimalFormat("0.0E0"));
            plot.add(lr, 1);
        }
        if (names.contains(GRAD_NORM)) {
            plot.add(panel("gradient norm", rows, List.of(GRAD_NORM), true, colour), 1);
        }
        mark(plot, rows);
        JFreeChart chart = new JFreeChart(title, new Font(Font.SANS_SERIF, Font.BOLD, 16), plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        chart.getLegend().setBackgroundPaint(Color.WHITE);
        return chart;
    }

    /** One panel: each name's raw values (pale, thin) and, when {@code smooth}, its smoothed line over them. */
    private static XYPlot panel(String label, List<StepMetrics> rows, List<String> names, boolean smooth,
            int[] nextColour) {
        XYSeriesCollection data = new XYSeriesCollection();
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, false);
        renderer.setLegendItemLabelGenerator((d, series) -> d.getSeriesKey(series).toString().replace(SMOOTHED, ""));
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < names.size(); i++) {
            String name = names.get(i);
            XYSeries raw = new XYSeries(name, false, true);
            for (StepMetrics m : rows) {
                Double v = m.losses().get(name);
                if (v != null && Double.isFinite(v)) {
                    raw.add(m.step(), v);
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
            Color colour = PALETTE[nextColour[0]++ % PALETTE.length];
            Stroke stroke = stroke(i, smooth ? 2.2f : 1.6f);
            int s = data.getSeriesCount();
            data.addSeries(raw);
            if (smooth) {
                renderer.setSeriesPaint(s, pale(colour));
                renderer.setSeriesStroke(s, new BasicStroke(0.8f));
                renderer.setSeriesVisibleInLegend(s, false);
                data.addSeries(smoothed(raw, name + SMOOTHED));
                renderer.setSeriesPaint(s + 1, colour);
                renderer.setSeriesStroke(s + 1, stroke);
            } else {
                renderer.setSeriesPaint(s, colour);
                renderer.setSeriesStroke(s, stroke);
            }
        }
        boolean log = min > 0 && max / min >= 100;
        ValueAxis axis;
        if (log) {
            LogAxis a = new LogAxis(label + " (log)");
            a.setSmallestValue(min / 2);
            a.setAutoTickUnitSelection(false);
            a.setTickUnit(new NumberTickUnit(1)); // one tick per decade
            a.setNumberFormatOverride(new DecimalFormat(min >= 1e-4 ? "0.####" : "0.#E0"));
            a.setMinorTickMarksVisible(true);
            axis = a;
        } else {
            NumberAxis a = new NumberAxis(label);
            a.setAutoRangeIncludesZero(false);
            axis = a;
        }
        XYPlot p = new XYPlot(data, null, axis, renderer);
        p.setBackgroundPaint(Color.WHITE);
        p.setDomainGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
        p.setRangeGridlinePaint(new Color(0xDD, 0xDD, 0xDD));
        p.setOutlinePaint(Color.GRAY);
        return p;
    }

    /** The exponential moving average with a span of about a twentieth of the points (bias-corrected start). */
    static XYSeries smoothed(XYSeries raw, String key) {
        XYSeries out = new XYSeries(key, false, true);
        int n = raw.getItemCount();
        double alpha = 2.0 / (Math.max(1, n / 20) + 1);
        double ema = 0;
        double weight = 0;
        for (int i = 0; i < n; i++) {
            ema = (1 - alpha) * ema + alpha * raw.getY(i).doubleValue();
            weight = (1 - alpha) * weight + alpha;
            out.add(raw.getX(i), ema / weight);
        }
        return out;
    }

    /** Domain markers on every panel: world-size changes and resumes; labels on the top panel only. */
    private static void mark(CombinedDomainXYPlot plot, List<StepMetrics> rows) {
        Map<Long, String> marks = new LinkedHashMap<>();
        Map<Long, Color> colours = new LinkedHashMap<>();
        Double world = null;
        for (StepMetrics m : rows) {
            Double w = m.losses().get(WORLD_SIZE);
            if (w != null) {
                if (world != null && !w.equals(world)) {
                    marks.put(m.step(), "world size " + world.intValue() + " to " + w.intValue());
                    colours.put(m.step(), MARK_WORLD);
                }
                world = w;
            }
            Double r = m.losses().get(RESUMED);
            if (r != null && r > 0) {
                marks.merge(m.step(), "resumed", (a, b) -> a + ", " + b);
                colours.putIfAbsent(m.step(), MARK_RESUME);
            }
        }
        @SuppressWarnings("unchecked")
        List<XYPlot> panels = plot.getSubplots();
        for (int i = 0; i < panels.size(); i++) {
            for (Map.Entry<Long, String> e : marks.entrySet()) {
                ValueMarker v = new ValueMarker(e.getKey(), colours.get(e.getKey()),
                        new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10f, new float[] {5f, 4f},
                                0f));
                if (i == 0) {
                    v.setLabel(e.getValue());
                    v.setLabelFont(new Font(Font.SANS_SERIF, Font.PLAIN, 11));
                    v.setLabelAnchor(RectangleAnchor.TOP_RIGHT);
                    v.setLabelTextAnchor(TextAnchor.TOP_LEFT);
                }
                panels.get(i).addDomainMarker(v);
            }
        }
    }

    private static Stroke stroke(int i, float width) {
        float[] dash = DASHES[i % DASHES.length];
        return dash == null ? new BasicStroke(width)
                : new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 10f, dash, 0f);
    }

    /** The colour a third as strong, on white. */
    static Paint pale(Color c) {
        return new Color(255 - (255 - c.getRed()) / 3, 255 - (255 - c.getGreen()) / 3, 255 - (255 - c.getBlue()) / 3);
    }
}
