package io.hicmae.runtime.finetune;

import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.ClipTensors;
import io.hicmae.runtime.data.GeneratedClips;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class FinetuneBatchAssemblerTest {

    private static final HicmaeConfig TINY = HicmaeConfig.tiny();

    private final List<byte[]> frames = new ArrayList<>();
    private final List<short[]> pcm = new ArrayList<>();

    FinetuneBatchAssemblerTest() {
        GeneratedClips clips = new GeneratedClips(TINY, 3, 5);
        for (int i = 0; i < 4; i++) {
            frames.add(clips.clip(i).frames());
            pcm.add(clips.clip(i).pcm());
        }
    }

    @Test
    void trainingBatchHasTheModelsShapesAndSoftTargets() {
        FinetuneOptions o = FinetuneOptions.recipe(Task.classification(5), 1, 10, 4);
        try (NDManager m = NDManager.newBaseManager()) {
            FinetuneBatch b = new FinetuneBatchAssembler(TINY, o)
                    .train(m, frames, pcm, new long[] {0, 1, 2, 4}, new SplittableRandom(1), 7);

            assertEquals(new Shape(4, 3, 16, 16, 16), b.video().getShape());
            assertEquals(new Shape(4, 1, 64, 32), b.audio().getShape());
            assertEquals(new Shape(4, 5), b.targets().getShape());
            assertArrayEquals(new float[] {1, 1, 1, 1}, b.targets().sum(new int[] {1}).toFloatArray(), 1e-6f);
            assertEquals(7, b.dropPathSeed());
        }
    }

    @Test
    void evaluationInputsAreOnlyNormalised() {
        FinetuneOptions o = FinetuneOptions.recipe(Task.classification(5), 1, 10, 4);
        try (NDManager m = NDManager.newBaseManager()) {
            NDList in = new FinetuneBatchAssembler(TINY, o).evaluation(m, frames, pcm);

            float[] expected = new float[3 * 16 * 16 * 16];
            ClipTensors.normalizeFrames(frames.get(2), 16, 16, 16, expected, 0);
            assertArrayEquals(expected, in.get(0).get(2).toFloatArray());
        }
    }

    @Test
    void regressionTargetsPassUnchangedAndTheTaskIsChecked() {
        FinetuneOptions o = FinetuneOptions.recipe(Task.regression(2), 1, 10, 4);
        FinetuneBatchAssembler a = new FinetuneBatchAssembler(TINY, o);
        try (NDManager m = NDManager.newBaseManager()) {
            float[][] targets = {{0.1f, 0.2f}, {0.3f, 0.4f}, {0.5f, 0.6f}, {0.7f, 0.8f}};
            FinetuneBatch b = a.trainRegression(m, frames, pcm, targets, new SplittableRandom(2), 0);

            assertArrayEquals(new float[] {0.5f, 0.6f}, b.targets().get(2).toFloatArray());
            assertThrows(IllegalStateException.class,
                    () -> a.train(m, frames, pcm, new long[] {0, 1, 0, 1}, new SplittableRandom(2), 0));
        }
    }
}
