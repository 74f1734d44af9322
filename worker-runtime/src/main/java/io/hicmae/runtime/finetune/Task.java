package io.hicmae.runtime.finetune;

/**
 * What the head predicts: Q emotion categories (softmax, cross-entropy) or D continuous dimensions (MSE), as the
 * authors' classification and regression fine-tuning scripts do.
 *
 * @param kind classification or regression
 * @param outputs Q classes or D dimensions: the head's width
 */
public record Task(Kind kind, int outputs) {

    /** The two upstream fine-tuning scripts: {@code run_class_finetuning_av.py} and its regression twin. */
    public enum Kind { CLASSIFICATION, REGRESSION }

    public Task {
        if (kind == null) {
            throw new IllegalArgumentException("Invalid value null for configuration task: must be classification or regression");
        }
        if (kind == Kind.CLASSIFICATION && outputs < 2) {
            throw new IllegalArgumentException(
                    "Invalid value " + outputs + " for configuration num-classes: must be at least 2");
        }
        if (kind == Kind.REGRESSION && outputs < 1) {
            throw new IllegalArgumentException(
                    "Invalid value " + outputs + " for configuration num-dims: must be at least 1");
        }
    }

    public static Task classification(int classes) {
        return new Task(Kind.CLASSIFICATION, classes);
    }

    public static Task regression(int dims) {
        return new Task(Kind.REGRESSION, dims);
    }

    public boolean isClassification() {
        return kind == Kind.CLASSIFICATION;
    }
}
