package io.hicmae.runtime.finetune;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Per-video prediction from several clips, as upstream's test protocol merges its views ({@code merge} in
 * {@code engine_for_finetuning_av.py}): the softmax probabilities (classification) or the raw outputs (regression)
 * of a video's clips are averaged, and a class prediction is the arg-max of the mean. Upstream tests 2 temporal
 * clips x 2 spatial crops of 160 x 160 frames, whose crops coincide, so 2 temporal clips per video.
 *
 * <p>Videos are kept in the order they first appear.
 */
public final class VideoAverage {

    /**
     * One video's merged prediction.
     *
     * @param id video id
     * @param mean mean class probabilities (Q) or mean outputs (D)
     * @param target the label: {class} for classification, the D targets for regression
     * @param clips clips averaged
     */
    public record Video(String id, float[] mean, float[] target, int clips) {

        /** Arg-max of the mean probabilities (the first on ties, as numpy). */
        public int predictedClass() {
            int best = 0;
            for (int i = 1; i < mean.length; i++) {
                if (mean[i] > mean[best]) {
                    best = i;
                }
            }
            return best;
        }
    }

    private static final class Sum {
        final double[] sum;
        final float[] target;
        int clips;

        Sum(int width, float[] target) {
            this.sum = new double[width];
            this.target = target;
        }
    }

    private final Task task;
    private final Map<String, Sum> videos = new LinkedHashMap<>();

    public VideoAverage(Task task) {
        this.task = task;
    }

    /**
     * Adds one clip of a classification video.
     *
     * @param logits the clip's logits (Q)
     * @param label the video's class; every clip of a video must carry the same
     */
    public void addClip(String video, float[] logits, int label) {
        requireKind(Task.Kind.CLASSIFICATION);
        add(video, softmax(logits), new float[] {label});
    }

    /**
     * Adds one clip of a regression video.
     *
     * @param outputs the clip's outputs (D)
     * @param target the video's targets (D); every clip of a video must carry the same
     */
    public void addClip(String video, float[] outputs, float[] target) {
        requireKind(Task.Kind.REGRESSION);
        if (target.length != task.outputs()) {
            throw new IllegalArgumentException("video " + video + " has " + target.length + " targets, expected "
                    + task.outputs());
        }
        add(video, outputs, target.clone());
    }

    private void add(String video, float[] values, float[] target) {
        if (values.length != task.outputs()) {
            throw new IllegalArgumentException("clip of video " + video + " has " + values.length
                    + " outputs, expected " + task.outputs());
        }
        Sum s = videos.computeIfAbsent(video, k -> new Sum(values.length, target));
        if (!Arrays.equals(s.target, target)) {
            throw new IllegalArgumentException("video " + video + " has clips labelled " + Arrays.toString(s.target)
                    + " and " + Arrays.toString(target));
        }
        for (int i = 0; i < values.length; i++) {
            s.sum[i] += values[i];
        }
        s.clips++;
    }

    /** The merged videos in first-seen order. */
    public List<Video> videos() {
        return videos.entrySet().stream().map(e -> {
            Sum s = e.getValue();
            float[] mean = new float[s.sum.length];
            for (int i = 0; i < mean.length; i++) {
                mean[i] = (float) (s.sum[i] / s.clips);
            }
            return new Video(e.getKey(), mean, s.target.clone(), s.clips);
        }).toList();
    }

    /** Classification metrics of the per-video predictions. */
    public ClassificationMetrics classificationMetrics() {
        requireKind(Task.Kind.CLASSIFICATION);
        List<Video> v = videos();
        int[] labels = new int[v.size()];
        int[] predictions = new int[v.size()];
        for (int i = 0; i < labels.length; i++) {
            labels[i] = (int) v.get(i).target()[0];
            predictions[i] = v.get(i).predictedClass();
        }
        return Metrics.classification(labels, predictions, task.outputs());
    }

    /** Regression metrics of the per-video mean outputs. */
    public RegressionMetrics regressionMetrics() {
        requireKind(Task.Kind.REGRESSION);
        List<Video> v = videos();
        float[][] outputs = new float[v.size()][];
        float[][] targets = new float[v.size()][];
        for (int i = 0; i < outputs.length; i++) {
            outputs[i] = v.get(i).mean();
            targets[i] = v.get(i).target();
        }
        return Metrics.regression(outputs, targets);
    }

    /** Numerically stable softmax in double. */
    static float[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY;
        for (float l : logits) {
            max = Math.max(max, l);
        }
        double sum = 0;
        double[] e = new double[logits.length];
        for (int i = 0; i < e.length; i++) {
            e[i] = Math.exp(logits[i] - max);
            sum += e[i];
        }
        float[] p = new float[e.length];
        for (int i = 0; i < p.length; i++) {
            p[i] = (float) (e[i] / sum);
        }
        return p;
    }

    private void requireKind(Task.Kind kind) {
        if (task.kind() != kind) {
            throw new IllegalStateException("this average is for " + task.kind() + ", not " + kind);
        }
    }
}
