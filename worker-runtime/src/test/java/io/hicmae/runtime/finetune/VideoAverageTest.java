package io.hicmae.runtime.finetune;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class VideoAverageTest {

    @Test
    void averagesSoftmaxProbabilitiesNotLogits() {
        VideoAverage avg = new VideoAverage(Task.classification(2));
        // One clip is sure of class 1, two lean to class 0: mean logits favour class 1 (2 vs 3.3), mean
        // probabilities class 0 (0.64 vs 0.36).
        avg.addClip("v1", new float[] {0, 10}, 0);
        avg.addClip("v1", new float[] {3, 0}, 0);
        avg.addClip("v1", new float[] {3, 0}, 0);
        avg.addClip("v2", new float[] {0, 1}, 1);

        List<VideoAverage.Video> videos = avg.videos();

        assertEquals(2, videos.size());
        VideoAverage.Video v1 = videos.get(0);
        assertEquals(3, v1.clips());
        double p0 = (1 / (1 + Math.exp(10)) + 2 / (1 + Math.exp(-3))) / 3;
        assertArrayEquals(new float[] {(float) p0, (float) (1 - p0)}, v1.mean(), 1e-6f);
        assertEquals(0, v1.predictedClass());
        ClassificationMetrics m = avg.classificationMetrics();
        assertEquals(1.0, m.war());
    }

    @Test
    void averagesRegressionOutputs() {
        VideoAverage avg = new VideoAverage(Task.regression(2));
        avg.addClip("a", new float[] {1, 2}, new float[] {1, 1});
        avg.addClip("a", new float[] {3, 4}, new float[] {1, 1});
        avg.addClip("b", new float[] {0, 0}, new float[] {0, 0});

        assertArrayEquals(new float[] {2, 3}, avg.videos().get(0).mean());
        assertEquals(2, avg.regressionMetrics().count());
    }

    @Test
    void rejectsClipsOfOneVideoWithDifferentLabels() {
        VideoAverage avg = new VideoAverage(Task.classification(3));
        avg.addClip("v", new float[] {0, 0, 0}, 1);

        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> avg.addClip("v", new float[] {0, 0, 0}, 2));

        assertEquals("video v has clips labelled [1.0] and [2.0]", e.getMessage());
    }
}
