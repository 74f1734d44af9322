package io.hicmae.runtime.mask;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MaskGeneratorTest {

    private static int count(boolean[] flags) {
        int c = 0;
        for (boolean b : flags) {
            c += b ? 1 : 0;
        }
        return c;
    }

    private static void assertTube(boolean[] masked, int frames, int perFrame) {
        for (int t = 1; t < frames; t++) {
            for (int p = 0; p < perFrame; p++) {
                assertEquals(masked[p], masked[t * perFrame + p], "slice " + t + " position " + p);
            }
        }
    }

    @Test
    void tubeMaskMasksPythonIntOfRatioTimesPatchesInEverySlice() {
        // (frames, patches per frame, ratio, masked per sample as the authors' generator gives it)
        Object[][] cases = {{8, 16, 0.75, 96}, {8, 100, 0.9, 720}};
        SplittableRandom rng = new SplittableRandom(7);
        for (Object[] c : cases) {
            int frames = (int) c[0];
            int perFrame = (int) c[1];
            TubeMaskGenerator gen = new TubeMaskGenerator(frames, perFrame, (double) c[2]);
            for (int i = 0; i < 20; i++) {
                TokenMask m = gen.next(rng);
                assertEquals(frames * perFrame, m.tokens());
                assertEquals((int) c[3], count(m.masked()));
                assertEquals((int) c[3], m.maskedIndex().length);
                assertTube(m.masked(), frames, perFrame);
            }
        }
    }

    @Test
    void randomMaskMasksPythonIntOfRatioTimesTokens() {
        Object[][] cases = {{32, 0.8, 25}, {128, 0.8, 102}};
        SplittableRandom rng = new SplittableRandom(8);
        for (Object[] c : cases) {
            RandomMaskGenerator gen = new RandomMaskGenerator((int) c[0], (double) c[1]);
            for (int i = 0; i < 20; i++) {
                TokenMask m = gen.next(rng);
                assertEquals((int) c[2], count(m.masked()));
                assertEquals((int) c[0] - (int) c[2], m.visibleIndex().length);
            }
        }
    }

    @Test
    void randomMaskCoversEveryTokenUniformly() {
        RandomMaskGenerator gen = new RandomMaskGenerator(32, 0.8);
        SplittableRandom rng = new SplittableRandom(9);
        int draws = 20000;
        int[] hits = new int[32];
        for (int i = 0; i < draws; i++) {
            for (int k : gen.next(rng).maskedIndex()) {
                hits[k]++;
            }
        }
        double expected = draws * 25.0 / 32.0;
        for (int k = 0; k < 32; k++) {
            // binomial sd = sqrt(20000 * 0.78 * 0.22) ~ 59; allow 5 sd
            assertTrue(Math.abs(hits[k] - expected) < 300, "token " + k + " masked " + hits[k] + " times");
        }
    }

    @Test
    void sameSeedGivesSameMasksAndOtherSeedsDiffer() {
        TubeMaskGenerator tube = new TubeMaskGenerator(8, 100, 0.9);
        RandomMaskGenerator audio = new RandomMaskGenerator(128, 0.8);
        SplittableRandom a = new SplittableRandom(42);
        SplittableRandom b = new SplittableRandom(42);
        SplittableRandom c = new SplittableRandom(43);
        for (int i = 0; i < 5; i++) {
            TokenMask ta = tube.next(a);
            assertEquals(ta, tube.next(b));
            assertNotEquals(ta, tube.next(c));
            TokenMask aa = audio.next(a);
            assertEquals(aa, audio.next(b));
            assertNotEquals(aa, audio.next(c));
        }
    }

    @Test
    void tokenMaskDerivesAscendingIndexArrays() {
        TokenMask m = TokenMask.of(new boolean[] {true, false, false, true, true, false});
        assertArrayEquals(new int[] {1, 2, 5}, m.visibleIndex());
        assertArrayEquals(new int[] {0, 3, 4}, m.maskedIndex());
    }

    @Test
    void tokenMaskRejectsInconsistentIndexArrays() {
        boolean[] flags = {true, false, true};
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new TokenMask(flags, new int[] {1}, new int[] {2, 0}));
        assertTrue(e.getMessage().contains("maskedIndex[1] = 0"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new TokenMask(flags, new int[] {0}, new int[] {2, 1}));
        assertThrows(IllegalArgumentException.class, () -> new TokenMask(flags, new int[] {}, new int[] {0, 2}));
    }

    @Test
    void constructorsRejectBadArgumentsNamingThem() {
        assertMessage(() -> new TubeMaskGenerator(0, 16, 0.5), "frames", "0");
        assertMessage(() -> new TubeMaskGenerator(8, -1, 0.5), "patchesPerFrame", "-1");
        assertMessage(() -> new TubeMaskGenerator(8, 16, 1.0), "ratio", "1.0");
        assertMessage(() -> new RandomMaskGenerator(32, -0.1), "ratio", "-0.1");
        assertMessage(() -> new RandomMaskGenerator(32, Double.NaN), "ratio", "NaN");
        assertMessage(() -> new RandomMaskGenerator(0, 0.8), "tokens", "0");
    }

    private static void assertMessage(Runnable r, String argument, String value) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(argument) && e.getMessage().contains(value), e.getMessage());
    }

    @Test
    void toArraysStacksBatchAsBooleanAndInt64() {
        SplittableRandom rng = new SplittableRandom(1);
        RandomMaskGenerator gen = new RandomMaskGenerator(32, 0.8);
        TokenMask[] batch = {gen.next(rng), gen.next(rng)};
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray[] arrays = TokenMask.toArrays(m, batch);
            assertEquals(new Shape(2, 32), arrays[0].getShape());
            assertEquals(DataType.BOOLEAN, arrays[0].getDataType());
            assertEquals(new Shape(2, 7), arrays[1].getShape());
            assertEquals(DataType.INT64, arrays[1].getDataType());
            assertEquals(new Shape(2, 25), arrays[2].getShape());
            boolean[] flags = arrays[0].toBooleanArray();
            long[] hidden = arrays[2].toLongArray();
            for (int b = 0; b < 2; b++) {
                assertArrayEquals(batch[b].masked(), Arrays.copyOfRange(flags, b * 32, b * 32 + 32));
                assertArrayEquals(Arrays.stream(batch[b].maskedIndex()).asLongStream().toArray(),
                        Arrays.copyOfRange(hidden, b * 25, b * 25 + 25));
            }
        }
        TokenMask other = new RandomMaskGenerator(32, 0.5).next(rng);
        assertThrows(IllegalArgumentException.class,
                () -> TokenMask.toArrays(null, new TokenMask[] {batch[0], other}));
    }

    @Test
    void goldenMasksFollowTheSameConventions() throws Exception {
        Path file = Path.of(System.getProperty("hicmae.golden.dir"), "inputs.npz");
        try (NDManager m = NDManager.newBaseManager(); InputStream in = Files.newInputStream(file)) {
            NDList golden = NDList.decode(m, in);
            checkGolden(golden, "mask", "visible_index", "mask_index", 128, 96, true);
            checkGolden(golden, "mask_audio", "visible_audio_index", "mask_audio_index", 32, 25, false);
        }
    }

    private static void checkGolden(NDList golden, String maskName, String visibleName, String maskedName,
                                    int n, int nMasked, boolean tube) {
        NDArray mask = golden.get(maskName);
        assertEquals(new Shape(2, n), mask.getShape());
        boolean[] flags = mask.toBooleanArray();
        long[] visible = golden.get(visibleName).toLongArray();
        long[] hidden = golden.get(maskedName).toLongArray();
        for (int b = 0; b < 2; b++) {
            boolean[] row = Arrays.copyOfRange(flags, b * n, (b + 1) * n);
            TokenMask t = TokenMask.of(row);
            assertEquals(nMasked, t.maskedIndex().length);
            if (tube) {
                assertTube(row, 8, 16);
            }
            int nVisible = n - nMasked;
            assertArrayEquals(Arrays.copyOfRange(visible, b * nVisible, (b + 1) * nVisible),
                    Arrays.stream(t.visibleIndex()).asLongStream().toArray());
            assertArrayEquals(Arrays.copyOfRange(hidden, b * nMasked, (b + 1) * nMasked),
                    Arrays.stream(t.maskedIndex()).asLongStream().toArray());
        }
    }
}
