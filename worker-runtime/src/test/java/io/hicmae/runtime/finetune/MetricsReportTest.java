package io.hicmae.runtime.finetune;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MetricsReportTest {

    private static final List<String> CLASSES = List.of("happy", "sad");

    @Test
    void foldsGiveMeanAndSampleStd() {
        ClassificationMetrics a = Metrics.classification(new int[] {0, 0, 1, 1}, new int[] {0, 1, 1, 0}, 2); // WAR .5
        ClassificationMetrics b = Metrics.classification(new int[] {0, 0, 1, 1}, new int[] {0, 0, 1, 0}, 2); // WAR .75

        MetricsReport r = MetricsReport.classification(CLASSES, List.of(a, b));

        MetricsReport.Summary war = r.summaries().get(0);
        assertEquals("war", war.metric());
        assertEquals(0.625, war.mean(), 1e-12);
        assertEquals(Math.sqrt(2 * 0.125 * 0.125 / 1), war.std(), 1e-12); // n - 1 = 1
        assertEquals(3, r.confusion()[0][0]); // 1 + 2 over the folds
        assertEquals(2, r.confusion()[1][0]);
    }

    @Test
    void tableShowsPercentagesFoldsAndTheMatrix() {
        ClassificationMetrics a = Metrics.classification(new int[] {0, 0, 1, 1}, new int[] {0, 1, 1, 0}, 2);
        ClassificationMetrics b = Metrics.classification(new int[] {0, 0, 1, 1}, new int[] {0, 0, 1, 0}, 2);

        String table = MetricsReport.classification(CLASSES, List.of(a, b)).table();

        assertTrue(table.startsWith("metric"), table);
        assertTrue(table.contains("fold 2") && table.contains("mean") && table.contains("std"), table);
        assertTrue(table.lines().anyMatch(l -> l.startsWith("war") && l.contains("50.00") && l.contains("75.00")
                && l.contains("62.50") && l.contains("17.68")), table);
        assertTrue(table.lines().anyMatch(l -> l.matches("happy\\s+3\\s+1")), table);
    }

    @Test
    void jsonKeepsFractionsAndWritesAnUndefinedStdAsNull() {
        RegressionMetrics one = Metrics.regression(new float[][] {{1, 4}, {2, 4}, {3, 4}},
                new float[][] {{1, 1}, {3, 2}, {2, 3}});

        JsonObject json = JsonParser.parseString(
                MetricsReport.regression(List.of("valence", "arousal"), List.of(one)).json()).getAsJsonObject();

        assertEquals("regression", json.get("task").getAsString());
        assertEquals(1, json.get("folds").getAsInt());
        JsonObject metrics = json.getAsJsonObject("metrics");
        assertEquals(0.5, metrics.getAsJsonObject("ccc.valence").get("mean").getAsDouble(), 1e-12);
        assertEquals(0.25, metrics.getAsJsonObject("pcc.mean").get("mean").getAsDouble(), 1e-12);
        assertTrue(metrics.getAsJsonObject("ccc.arousal").get("std").isJsonNull());
    }

    @Test
    void rejectsNoFoldsAndAMismatchedClassCount() {
        assertEquals("Invalid value 0 for configuration folds: must be at least 1",
                assertThrows(IllegalArgumentException.class,
                        () -> MetricsReport.classification(CLASSES, List.of())).getMessage());
        ClassificationMetrics three = Metrics.classification(new int[] {0, 1, 2}, new int[] {0, 1, 2}, 3);
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> MetricsReport.classification(CLASSES, List.of(three))).getMessage()
                .startsWith("fold 1 has 3 classes, expected 2"));
    }
}
