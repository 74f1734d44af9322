package io.hicmae.runtime.data;

import java.io.Serializable;
import java.util.Arrays;
import java.util.Objects;

/**
 * The labels of one clip, which are its video's: a class index (categorical dataset) or float targets (dimensional
 * dataset), plus the video's split and cross-validation fold when the manifest gave them. Serializable, as prep ships
 * it to executors with each video. Columns: see
 * {@link ClipSchema}; names of the classes or dimensions: see {@link LabelSpace}.
 *
 * @param category class index from 0, or -1 in a dimensional dataset
 * @param dimensions the targets in the label space's order; length 0 in a categorical dataset (copied, never shared)
 * @param split split name, e.g. {@code train}; null when absent
 * @param fold fold from 0; -1 when absent
 */
public record ClipLabels(int category, float[] dimensions, String split, int fold) implements Serializable {

    /** {@link #category} of a dimensional dataset's clip. */
    public static final int NO_CATEGORY = -1;
    /** {@link #fold} when the dataset has none. */
    public static final int NO_FOLD = -1;

    public ClipLabels {
        Objects.requireNonNull(dimensions, "dimensions (length 0 for a categorical label)");
        if (category < NO_CATEGORY) {
            throw new IllegalArgumentException("Invalid value " + category + " for label category: must be a class"
                    + " index from 0, or " + NO_CATEGORY + " for a dimensional label");
        }
        if ((category == NO_CATEGORY) == (dimensions.length == 0)) {
            throw new IllegalArgumentException("Invalid label: category " + category + " with " + dimensions.length
                    + " dimensions; a label is either a class index and no dimensions, or " + NO_CATEGORY
                    + " and at least one dimension");
        }
        for (int i = 0; i < dimensions.length; i++) {
            if (!Float.isFinite(dimensions[i])) {
                throw new IllegalArgumentException("Invalid value " + dimensions[i] + " for label dimension " + i
                        + ": must be finite");
            }
        }
        if (split != null && split.isBlank()) {
            throw new IllegalArgumentException("Invalid value '" + split + "' for label split: blank; use null");
        }
        if (fold < NO_FOLD) {
            throw new IllegalArgumentException("Invalid value " + fold + " for label fold: must be at least 0, or "
                    + NO_FOLD + " when absent");
        }
        dimensions = dimensions.clone();
    }

    /** A categorical label. */
    public static ClipLabels categorical(int category, String split, int fold) {
        return new ClipLabels(category, new float[0], split, fold);
    }

    /** A dimensional label. */
    public static ClipLabels dimensional(float[] dimensions, String split, int fold) {
        return new ClipLabels(NO_CATEGORY, dimensions, split, fold);
    }

    /** Whether this is a class index rather than dimensional targets. */
    public boolean isCategorical() {
        return category != NO_CATEGORY;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClipLabels l && category == l.category && Arrays.equals(dimensions, l.dimensions)
                && Objects.equals(split, l.split) && fold == l.fold;
    }

    @Override
    public int hashCode() {
        return Objects.hash(category, Arrays.hashCode(dimensions), split, fold);
    }

    @Override
    public String toString() {
        return "ClipLabels[category=" + category + ", dimensions=" + Arrays.toString(dimensions) + ", split=" + split
                + ", fold=" + fold + "]";
    }
}
