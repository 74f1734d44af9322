package io.hicmae.runtime.finetune;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MixupTest {

    private static final int Q = 4;

    private static NDArray video(NDManager m) {
        return m.randomUniform(-1f, 1f, new Shape(4, 3, 2, 8, 10)); // (B, 3, T, H, W)
    }

    @Test
    void offGivesSmoothedOneHotTargetsAndLeavesTheVideo() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray v = video(m);
            Mixup.Mixed out = new Mixup(Mixup.Settings.off(), Q, 0.1f)
                    .apply(v, m.create(new long[] {3, 1, 0, 2}), new SplittableRandom(1));

            assertSame(v, out.video());
            assertEquals(1.0, out.draw().lam());
            assertArrayEquals(new float[] {0.025f, 0.025f, 0.025f, 0.925f}, out.targets().get(0).toFloatArray(), 1e-7f);
        }
    }

    @Test
    void cutmixPastesTheFlippedClipsBoxIntoEveryFrameAndCorrectsLam() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray v = video(m);
            NDArray labels = m.create(new long[] {3, 1, 0, 2});
            Mixup mixup = new Mixup(new Mixup.Settings(0, 1.0, 1.0, 0.5), Q, 0.1f);
            SplittableRandom rng = new SplittableRandom(5);
            Mixup.Mixed out = mixup.apply(v, labels, rng);
            Mixup.Draw d = out.draw();
            while (d.bottom() == d.top() || d.right() == d.left()) { // an empty box mixes nothing; draw again
                out = mixup.apply(v, labels, rng);
                d = out.draw();
            }

            assertTrue(d.cutmix());
            double area = (double) (d.bottom() - d.top()) * (d.right() - d.left());
            assertEquals(1 - area / (8 * 10), d.lam(), 1e-12);
            String box = ":, :, :, " + d.top() + ":" + d.bottom() + ", " + d.left() + ":" + d.right();
            NDArray flipped = v.flip(0);
            assertArrayEquals(flipped.get(box).toFloatArray(), out.video().get(box).toFloatArray());
            NDArray outside = out.video().sub(v);
            outside.set(new NDIndex(box), 0f);
            assertEquals(0f, outside.abs().max().getFloat());
            // Clip 0 (label 3) is paired with clip 3 (label 2).
            float[] t0 = out.targets().get(0).toFloatArray();
            assertEquals(d.lam() * 0.925 + (1 - d.lam()) * 0.025, t0[3], 1e-6);
            assertEquals(d.lam() * 0.025 + (1 - d.lam()) * 0.925, t0[2], 1e-6);
            assertEquals(1f, out.targets().sum(new int[] {1}).min().getFloat(), 1e-6f);
        }
    }

    @Test
    void mixupBlendsWholeClipsWithTheFlippedBatch() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray v = video(m);
            Mixup.Mixed out = new Mixup(new Mixup.Settings(0.8, 0, 1.0, 0.5), Q, 0f)
                    .apply(v, m.create(new long[] {0, 1, 2, 3}), new SplittableRandom(2));

            double lam = out.draw().lam();
            assertTrue(!out.draw().cutmix() && lam > 0 && lam < 1, "lam " + lam);
            NDArray expected = v.mul(lam).add(v.flip(0).mul(1 - lam));
            assertTrue(expected.allClose(out.video(), 1e-6, 1e-6, false));
            assertArrayEquals(new float[] {(float) lam, 0, 0, (float) (1 - lam)},
                    out.targets().get(0).toFloatArray(), 1e-6f);
        }
    }

    @Test
    void upstreamSettingsSwitchBetweenCutmixAndMixupEvenly() {
        Mixup mixup = new Mixup(Mixup.Settings.upstream(), Q, 0.1f);
        SplittableRandom rng = new SplittableRandom(3);
        int cutmix = 0;
        int n = 4000;
        for (int i = 0; i < n; i++) {
            cutmix += mixup.draw(160, 160, rng).cutmix() ? 1 : 0;
        }
        assertEquals(0.5, cutmix / (double) n, 0.03);
    }

    @Test
    void betaSamplesHaveTheBetaMeanAndVariance() {
        SplittableRandom rng = new SplittableRandom(4);
        int n = 40_000;
        double a = 0.8; // below 1: the Gamma boost path
        double sum = 0;
        double sq = 0;
        for (int i = 0; i < n; i++) {
            double x = io.hicmae.runtime.stats.Beta.sample(a, rng);
            sum += x;
            sq += x * x;
        }
        double mean = sum / n;
        assertEquals(0.5, mean, 0.01);
        assertEquals(1 / (4 * (2 * a + 1)), sq / n - mean * mean, 0.005); // Var Beta(a, a) = 1 / (4 (2a + 1))
    }

    @Test
    void rejectsAnOddBatchWhenMixing() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray v = m.zeros(new Shape(3, 3, 2, 8, 8));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Mixup(Mixup.Settings.upstream(), Q, 0.1f)
                            .apply(v, m.create(new long[] {0, 1, 2}), new SplittableRandom(1)));
            assertTrue(e.getMessage().startsWith("Invalid value 3 for configuration local batch size"), e.getMessage());
        }
    }
}
