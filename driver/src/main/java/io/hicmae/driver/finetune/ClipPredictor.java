package io.hicmae.driver.finetune;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.data.ClipSchema;
import io.hicmae.runtime.data.LabelSpace;
import io.hicmae.runtime.data.PlannedClipReader;
import io.hicmae.runtime.data.StoredClip;
import io.hicmae.runtime.finetune.FinetuneBatchAssembler;
import io.hicmae.runtime.finetune.FinetuneOptions;
import io.hicmae.runtime.finetune.FinetuneTrainer;
import io.hicmae.runtime.finetune.MetricsReport;
import io.hicmae.runtime.finetune.Task;
import io.hicmae.runtime.finetune.VideoAverage;

import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The evaluation forward over planned clips, shared by the per-epoch validation of the ranks and by
 * {@code hicmae evaluate}: plain inputs (no augmentation, no audio gain), logits or regression outputs per clip; and
 * the per-video scores of those outputs ({@link VideoAverage}, upstream's test protocol).
 */
final class ClipPredictor {

    private ClipPredictor() {}

    /** The task a label space trains: Q classes or D dimensions. */
    static Task task(LabelSpace space) {
        return space.kind() == LabelSpace.Kind.CATEGORICAL ? Task.classification(space.names().size())
                : Task.regression(space.names().size());
    }

    /** An assembler for clips at the dataset's stored frame size. */
    static FinetuneBatchAssembler assembler(FinetuneTrainer trainer, FinetuneOptions options) {
        return new FinetuneBatchAssembler(trainer.config(), options, ClipSchema.CROP_SIZE, ClipSchema.CROP_SIZE);
    }

    /**
     * Outputs (Q logits or D values) of {@code entries[i]} for every i with {@code i % stride == offset}, written to
     * {@code out[i * outputs ...]}; other slots are left as they are.
     */
    static void predict(FinetuneTrainer trainer, FinetuneBatchAssembler assembler, PlannedClipReader reader,
            List<ClipEntry> entries, int offset, int stride, int batch, float[] out) throws IOException {
        int outputs = trainer.options().task().outputs();
        List<Integer> mine = new ArrayList<>();
        for (int i = offset; i < entries.size(); i += stride) {
            mine.add(i);
        }
        reader.plan(mine.stream().mapToLong(i -> entries.get(i).position()).toArray());
        for (int from = 0; from < mine.size(); from += batch) {
            int n = Math.min(batch, mine.size() - from);
            List<byte[]> frames = new ArrayList<>(n);
            List<short[]> pcm = new ArrayList<>(n);
            for (int j = 0; j < n; j++) {
                StoredClip c = reader.get(from + j);
                frames.add(c.frames());
                pcm.add(c.pcm());
            }
            try (NDManager m = trainer.newStepManager()) {
                NDList in = assembler.evaluation(m, frames, pcm);
                float[] y = trainer.predict(in.get(0), in.get(1)).toFloatArray(); // (n, outputs)
                for (int j = 0; j < n; j++) {
                    System.arraycopy(y, j * outputs, out, mine.get(from + j) * outputs, outputs);
                }
            }
        }
    }

    /** Merges clip outputs (entries.size() x outputs, row-major) per video. */
    static VideoAverage average(Task task, List<ClipEntry> entries, float[] outputs) {
        VideoAverage avg = new VideoAverage(task);
        int q = task.outputs();
        for (int i = 0; i < entries.size(); i++) {
            float[] y = new float[q];
            System.arraycopy(outputs, i * q, y, 0, q);
            ClipEntry e = entries.get(i);
            if (task.isClassification()) {
                avg.addClip(e.source(), y, e.category());
            } else {
                avg.addClip(e.source(), y, e.dimensions());
            }
        }
        return avg;
    }

    /** The report of one evaluation (a fold of {@link MetricsReport}). */
    static MetricsReport report(LabelSpace space, VideoAverage avg) {
        return space.kind() == LabelSpace.Kind.CATEGORICAL
                ? MetricsReport.classification(space.names(), List.of(avg.classificationMetrics()))
                : MetricsReport.regression(space.names(), List.of(avg.regressionMetrics()));
    }

    /** Every scalar of a one-fold report by name, prefixed (e.g. "val_uar", "val_ccc.valence"). */
    static Map<String, Double> scalars(MetricsReport report, String prefix) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (MetricsReport.Summary s : report.summaries()) {
            m.put(prefix + s.metric(), s.mean());
        }
        return m;
    }
}
