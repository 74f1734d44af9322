package io.hicmae.runtime.data;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

class MultiScaleCropTest {

    @Test
    void cropSidesFor160InputAreUpstreams() {
        // int(160 * [1, .875, .75, .66]) = 160, 140, 120, 105; only 160 is within 3 of the output side
        assertArrayEquals(new int[] {160, 140, 120, 105}, MultiScaleCrop.cropSides(160, 160));
        // 24 -> 24, 21, 18, 15; 18 and 15 are within 3 of 16 and snap to it
        assertArrayEquals(new int[] {24, 21, 16, 16}, MultiScaleCrop.cropSides(24, 16));
    }

    @Test
    void candidatePairsDifferByAtMostOneScaleStep() {
        List<int[]> pairs = new MultiScaleCrop(160, 160, 160).candidatePairs();
        int[][] expected = {
            {160, 160}, {140, 160}, {160, 140}, {140, 140}, {120, 140}, {140, 120}, {120, 120}, {105, 120},
            {120, 105}, {105, 105}
        };
        assertEquals(expected.length, pairs.size());
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(expected[i], pairs.get(i), "pair " + i);
        }
    }

    @Test
    void gridHasUpstreamsThirteenOffsets() {
        // (160 - 105) // 4 = 13 across, (160 - 120) // 4 = 10 down
        int[][] grid = MultiScaleCrop.gridOffsets(160, 160, 105, 120);
        int[][] expected = {
            {0, 0}, {52, 0}, {0, 40}, {52, 40}, {26, 20}, {0, 20}, {52, 20}, {26, 40}, {26, 0},
            {13, 10}, {39, 10}, {13, 30}, {39, 30}
        };
        assertEquals(13, grid.length);
        for (int i = 0; i < expected.length; i++) {
            assertArrayEquals(expected[i], grid[i], "offset " + i);
        }
        for (int[] o : MultiScaleCrop.gridOffsets(160, 160, 160, 160)) {
            assertArrayEquals(new int[] {0, 0}, o, "a full-size crop has only the origin");
        }
    }

    @Test
    void fullSizeCropAtOriginIsTheIdentity() {
        byte[] frames = pattern(2, 20, 20);
        MultiScaleCrop crop = new MultiScaleCrop(20, 20, 20);
        assertArrayEquals(frames, crop.apply(frames, 2, new MultiScaleCrop.Window(0, 0, 20, 20)));
    }

    @Test
    void matchesPillowBilinearOnDownscaleAndUpscale() throws IOException {
        byte[] image = pillowImage();
        List<String> lines = goldenLines();
        assertEquals(4, lines.size());
        for (int i = 0; i < lines.size(); i += 2) {
            String[] w = lines.get(i).split(" ");
            int side = Integer.parseInt(w[4]);
            MultiScaleCrop.Window window = new MultiScaleCrop.Window(Integer.parseInt(w[0]), Integer.parseInt(w[1]),
                    Integer.parseInt(w[2]), Integer.parseInt(w[3]));
            byte[] expected = HexFormat.of().parseHex(lines.get(i + 1));
            byte[] actual = new MultiScaleCrop(40, 36, side).apply(image, 1, window);
            int maxDiff = 0;
            for (int k = 0; k < expected.length; k++) {
                maxDiff = Math.max(maxDiff, Math.abs((expected[k] & 0xff) - (actual[k] & 0xff)));
            }
            assertEquals(0, maxDiff, "max |diff| to Pillow for " + window + " -> " + side);
        }
    }

    @Test
    void everyFrameGetsTheSameCrop() {
        byte[] one = pattern(1, 40, 36);
        byte[] three = new byte[one.length * 3];
        for (int f = 0; f < 3; f++) {
            System.arraycopy(one, 0, three, f * one.length, one.length);
        }
        MultiScaleCrop crop = new MultiScaleCrop(40, 36, 16);
        byte[] out = crop.apply(three, 3, new SplittableRandom(5));
        int frame = 16 * 16 * 3;
        assertEquals(3 * frame, out.length);
        for (int f = 1; f < 3; f++) {
            for (int k = 0; k < frame; k++) {
                if (out[f * frame + k] != out[k]) {
                    fail("frame " + f + " byte " + k + " differs from frame 0");
                }
            }
        }
    }

    @Test
    void drawsAreDeterministicPerSeedAndCoverEveryPairAndOffset() {
        MultiScaleCrop crop = new MultiScaleCrop(160, 160, 160);
        List<MultiScaleCrop.Window> a = new ArrayList<>();
        List<MultiScaleCrop.Window> b = new ArrayList<>();
        SplittableRandom ra = new SplittableRandom(11);
        SplittableRandom rb = new SplittableRandom(11);
        Set<String> sizes = new HashSet<>();
        Set<String> windows = new HashSet<>();
        for (int i = 0; i < 3000; i++) {
            MultiScaleCrop.Window w = crop.sample(ra);
            a.add(w);
            b.add(crop.sample(rb));
            sizes.add(w.width() + "x" + w.height());
            windows.add(w.toString());
            assertTrue(w.x() + w.width() <= 160 && w.y() + w.height() <= 160, w + " leaves the frame");
        }
        assertEquals(a, b);
        assertEquals(10, sizes.size(), "every candidate pair is drawn");
        // 7 pairs smaller on both axes have 13 distinct offsets; (140, 160) and (160, 140) have 5 (one step is 0);
        // (160, 160) only the origin
        assertEquals(7 * 13 + 2 * 5 + 1, windows.size(), "every grid offset of every pair is drawn");
        assertNotEquals(a, sampleAll(crop, new SplittableRandom(12), 3000));
    }

    @Test
    void outputHasTheModelsShape() {
        MultiScaleCrop crop = new MultiScaleCrop(ClipSchema.CROP_SIZE, ClipSchema.CROP_SIZE, 16);
        byte[] frames = pattern(ClipSchema.FRAMES_PER_CLIP, ClipSchema.CROP_SIZE, ClipSchema.CROP_SIZE);
        assertEquals(ClipSchema.FRAMES_PER_CLIP * 16 * 16 * 3,
                crop.apply(frames, ClipSchema.FRAMES_PER_CLIP, new SplittableRandom(1)).length);
    }

    @Test
    void rejectsAWindowThatIsNoCandidateOrLeavesTheFrame() {
        MultiScaleCrop crop = new MultiScaleCrop(20, 20, 8);
        byte[] frames = pattern(1, 20, 20);
        assertThrows(IllegalArgumentException.class, () -> crop.apply(frames, 1, new MultiScaleCrop.Window(0, 0, 19, 19)));
        assertThrows(IllegalArgumentException.class, () -> crop.apply(frames, 1, new MultiScaleCrop.Window(5, 0, 20, 20)));
    }

    private static List<MultiScaleCrop.Window> sampleAll(MultiScaleCrop crop, SplittableRandom rng, int n) {
        List<MultiScaleCrop.Window> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(crop.sample(rng));
        }
        return out;
    }

    static byte[] pattern(int t, int width, int height) {
        byte[] b = new byte[t * width * height * 3];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (i * 31 + i / 7);
        }
        return b;
    }

    /** The 40x36 RGB image whose resizes pil-bilinear.txt holds. */
    static byte[] pillowImage() {
        byte[] image = new byte[36 * 40 * 3];
        for (int y = 0; y < 36; y++) {
            for (int x = 0; x < 40; x++) {
                for (int c = 0; c < 3; c++) {
                    image[(y * 40 + x) * 3 + c] = (byte) ((x * 7 + y * 13 + c * 29 + (x * y) % 11 * 17) % 256);
                }
            }
        }
        return image;
    }

    static List<String> goldenLines() throws IOException {
        List<String> lines = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                MultiScaleCropTest.class.getResourceAsStream("pil-bilinear.txt"), StandardCharsets.US_ASCII))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                if (!line.startsWith("#")) {
                    lines.add(line);
                }
            }
        }
        return lines;
    }
}
