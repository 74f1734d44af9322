package io.hicmae.runtime.finetune;

import io.hicmae.runtime.optim.AdamW;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FinetuneOptionsTest {

    @Test
    void recipeIsTheAuthorsFineTuningScript() {
        FinetuneOptions o = FinetuneOptions.recipe(Task.classification(11), 100, 2000, 56);

        assertEquals(1e-3 * 56 / 256, o.schedule().peak(), 1e-15); // 2.19e-4
        assertEquals(1e-6 * 56 / 256, o.schedule().end(), 1e-18);
        assertEquals(AdamW.Settings.finetuning(), o.adamw());
        assertEquals(0.75, o.layerDecay());
        assertEquals(0.1f, o.dropPath());
        assertEquals(0.1f, o.smoothing());
        assertEquals(Mixup.Settings.upstream(), o.mixup());
        assertFalse(o.linearProbe());
    }

    @Test
    void regressionRecipeHasNoMixupAndNoSmoothing() {
        FinetuneOptions o = FinetuneOptions.recipe(Task.regression(3), 10, 100, 32);
        assertFalse(o.mixup().enabled());
        assertEquals(0f, o.smoothing());
    }

    @Test
    void rejectsMixupForRegression() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new FinetuneOptions(
                Task.regression(3), 1e-3, 1e-6, 0, 10, 8, AdamW.Settings.finetuning(), 0.75, 0.1f, 0f,
                Mixup.Settings.upstream(), false));
        assertEquals("Invalid value 0.8/1.0 for configuration mixup: regression mixes no targets (upstream's "
                + "regression script has no mixup); set mixup and cutmix to 0", e.getMessage());
    }

    @Test
    void rejectsStochasticDepthInTheLinearProbe() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new FinetuneOptions(
                Task.classification(4), 0.1, 0, 0, 10, 8, AdamW.Settings.finetuning(), 1.0, 0.1f, 0f,
                Mixup.Settings.off(), true));
        assertEquals("Invalid value 0.1 for configuration drop-path: the linear probe runs the frozen backbone "
                + "without stochastic depth; set it to 0", e.getMessage());
    }

    @Test
    void errorsNameTheKeyAndValue() {
        assertEquals("Invalid value 1.5 for configuration layer-decay: must be in (0, 1]",
                assertThrows(IllegalArgumentException.class, () -> new FinetuneOptions(Task.classification(4), 1e-3,
                        1e-6, 0, 10, 8, AdamW.Settings.finetuning(), 1.5, 0.1f, 0.1f, Mixup.Settings.upstream(),
                        false)).getMessage());
        assertEquals("Invalid value 1 for configuration num-classes: must be at least 2",
                assertThrows(IllegalArgumentException.class, () -> Task.classification(1)).getMessage());
        assertEquals("Invalid value 20 for configuration warmup-steps: must be between 0 and the total steps 10",
                assertThrows(IllegalArgumentException.class,
                        () -> FinetuneOptions.recipe(Task.classification(4), 20, 10, 8)).getMessage());
        assertEquals("Invalid value -0.5 for configuration mixup-prob: must be in [0, 1]",
                assertThrows(IllegalArgumentException.class, () -> new Mixup.Settings(0.8, 1, -0.5, 0.5))
                        .getMessage());
    }
}
