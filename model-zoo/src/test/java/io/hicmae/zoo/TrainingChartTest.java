package io.hicmae.zoo;

import java.awt.Color;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.Marker;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.data.xy.XYDataset;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainingChartTest {

    /**
     * 300 pre-training steps: the total loss falls from 10 to about 0.01 (three decades), lr warms up to 1e-4,
     * the run resumed at step 101 and went from 4 to 2 ranks at step 201.
     */
    static List<StepMetrics> pretrainRun() {
        List<StepMetrics> rows = new ArrayList<>();
        for (int s = 1; s <= 300; s++) {
            Map<String, Double> v = new TreeMap<>();
            v.put("loss", 10 * Math.exp(-s / 43.0) * (1 + 0.1 * Math.sin(s)));
            v.put("video", 4 * Math.exp(-s / 43.0));
            v.put("audio", 5 * Math.exp(-s / 50.0));
            v.put("contrastive", 1.0 + 0.01 * s);
            v.put("lr", 1e-4 * Math.min(1, s / 50.0));
            v.put("grad_norm", 2 + Math.cos(s));
            v.put("world_size", s <= 200 ? 4.0 : 2.0);
            if (s == 101) {
                v.put("resumed", 1.0);
            }
            rows.add(new StepMetrics(s, v));
        }
        return rows;
    }

    @Test
    void lossesLrAndGradientNormHaveTheirOwnPanelsOnOneStepAxis() throws Exception {
        JFreeChart chart = TrainingChart.build("hicmae v000001", pretrainRun());
        CombinedDomainXYPlot plot = assertInstanceOf(CombinedDomainXYPlot.class, chart.getPlot());
        assertEquals("step", plot.getDomainAxis().getLabel());
        @SuppressWarnings("unchecked")
        List<XYPlot> panels = plot.getSubplots();
        assertEquals(3, panels.size());

        XYPlot losses = panels.get(0);
        assertInstanceOf(LogAxis.class, losses.getRangeAxis(), "the losses span three decades");
        assertEquals(List.of("loss", "loss (smoothed)", "audio", "audio (smoothed)", "contrastive",
                "contrastive (smoothed)", "video", "video (smoothed)"), keys(losses.getDataset()));
        // The smoothed line is smoother than the raw one: a smaller sum of absolute second differences.
        assertTrue(roughness(losses.getDataset(), 1) < roughness(losses.getDataset(), 0) / 3);

        XYPlot lr = panels.get(1);
        assertEquals("learning rate", lr.getRangeAxis().getLabel());
        assertInstanceOf(NumberAxis.class, lr.getRangeAxis());
        assertEquals(List.of("lr"), keys(lr.getDataset()));
        assertEquals(1e-4, lr.getDataset().getYValue(0, 299), 1e-12);

        XYPlot grad = panels.get(2);
        assertEquals("gradient norm", grad.getRangeAxis().getLabel(), "1 to 3 spans no decade: linear");
        assertEquals(List.of("grad_norm", "grad_norm (smoothed)"), keys(grad.getDataset()));

        for (XYPlot p : panels) {
            assertEquals(Color.WHITE, p.getBackgroundPaint());
            List<Double> at = new ArrayList<>();
            for (Object m : p.getDomainMarkers(org.jfree.chart.ui.Layer.FOREGROUND)) {
                at.add(((ValueMarker) m).getValue());
            }
            assertEquals(List.of(101.0, 201.0), at, "resume and world-size change marked on every panel");
        }
        List<String> labels = new ArrayList<>();
        for (Object m : losses.getDomainMarkers(org.jfree.chart.ui.Layer.FOREGROUND)) {
            labels.add(((Marker) m).getLabel());
        }
        assertEquals(List.of("resumed", "world size 4 to 2"), labels);
        assertEquals(Color.WHITE, chart.getBackgroundPaint());

        // Every visible line of the loss panel has its own colour.
        Set<Object> colours = new HashSet<>();
        for (int s = 1; s < losses.getDataset().getSeriesCount(); s += 2) {
            colours.add(losses.getRenderer().getSeriesPaint(s));
        }
        assertEquals(4, colours.size());

        Path png = Path.of("target", "training-chart.png");
        Files.write(png, ModelCard.lossCurvePng("hicmae v000001", pretrainRun()));
    }

    @Test
    void lossesWithinADecadeStayLinearAndPanelsWithoutDataAreLeftOut() {
        List<StepMetrics> rows = new ArrayList<>();
        for (int s = 1; s <= 10; s++) {
            rows.add(new StepMetrics(s, Map.of("loss", 1.0 + 0.1 * s, "val_war", 0.5 + 0.01 * s)));
        }
        CombinedDomainXYPlot plot = (CombinedDomainXYPlot) TrainingChart.build("ft", rows).getPlot();
        @SuppressWarnings("unchecked")
        List<XYPlot> panels = plot.getSubplots();
        assertEquals(2, panels.size(), "losses and validation; no lr or gradient norm logged");
        assertInstanceOf(NumberAxis.class, panels.get(0).getRangeAxis());
        assertEquals(List.of("val_war"), keys(panels.get(1).getDataset()));
        assertNull(panels.get(0).getDomainMarkers(org.jfree.chart.ui.Layer.FOREGROUND));
    }

    private static List<String> keys(XYDataset d) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < d.getSeriesCount(); i++) {
            out.add(d.getSeriesKey(i).toString());
        }
        return out;
    }

    private static double roughness(XYDataset d, int series) {
        double sum = 0;
        for (int i = 2; i < d.getItemCount(series); i++) {
            sum += Math.abs(d.getYValue(series, i) - 2 * d.getYValue(series, i - 1) + d.getYValue(series, i - 2));
        }
        return sum;
    }
}
