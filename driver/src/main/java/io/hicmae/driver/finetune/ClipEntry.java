package io.hicmae.driver.finetune;

import io.hicmae.runtime.data.ClipLabels;
import io.hicmae.runtime.data.StoredClip;

import java.io.Serializable;

/**
 * One labelled clip of a dataset without its tensors: where it is ({@link io.hicmae.runtime.data.ClipIndex}
 * position), which video it belongs to, and its labels. The driver plans splits, folds, epochs and the evaluation
 * views on these; ranks read the tensors by position.
 *
 * @param position global row group and row, see {@code ClipIndex.position}
 * @param clipId the clip's id
 * @param source the video the clip was cut from (several clips per video)
 * @param category the class index, -1 for a dimensional dataset
 * @param dimensions the dimensional targets, empty for a categorical dataset
 * @param split the split column, or null
 * @param fold the fold column, or -1
 */
public record ClipEntry(long position, String clipId, String source, int category, float[] dimensions, String split,
        int fold) implements Serializable {

    private static final long serialVersionUID = 1L;

    /**
     * The entry of a read clip.
     *
     * @throws IllegalArgumentException naming the clip when it has no labels
     */
    public static ClipEntry of(long position, StoredClip clip, String file) {
        ClipLabels l = clip.labels();
        if (l == null) {
            throw new IllegalArgumentException(file + ": clip " + clip.clipId() + " has no labels; fine-tuning and "
                    + "evaluation need a labelled dataset (hicmae prep --manifest labels.csv)");
        }
        return new ClipEntry(position, clip.clipId(), clip.source(), l.category(), l.dimensions().clone(), l.split(),
                l.fold());
    }

    /** Whether the clip carries a class (categorical) rather than dimensional targets. */
    public boolean isCategorical() {
        return category >= 0;
    }
}
