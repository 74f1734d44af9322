package io.hicmae.runtime.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DeviceCropTest {

    /** The device crop of a batch, as bytes. */
    private static byte[] onDevice(DeviceCrop crop, byte[] frames, int t, int height, int width,
            MultiScaleCrop.Window... windows) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray in = m.create(ByteBuffer.wrap(frames), new Shape(windows.length, t, height, width, 3),
                    DataType.UINT8);
            NDArray out = crop.apply(m, in, windows);
            assertEquals(DataType.FLOAT32, out.getDataType());
            float[] f = out.toFloatArray();
            byte[] b = new byte[f.length];
            for (int i = 0; i < f.length; i++) {
                if (f[i] != Math.rint(f[i]) || f[i] < 0 || f[i] > 255) {
                    throw new AssertionError("value " + f[i] + " at " + i + " is not a pixel value");
                }
                b[i] = (byte) f[i];
            }
            return b;
        }
    }

    @Test
    void aBatchOfMixedWindowsMatchesTheHostCropByteForByte() {
        // the stored geometry and the demo's side: every candidate pair, offsets from the grid, 4 frames per clip
        int t = 4;
        int side = 160;
        DeviceCrop crop = new DeviceCrop(side, side, side);
        List<int[]> pairs = crop.crop().candidatePairs();
        SplittableRandom rng = new SplittableRandom(3);
        MultiScaleCrop.Window[] windows = new MultiScaleCrop.Window[pairs.size()];
        byte[] clip = MultiScaleCropTest.pattern(t, side, side);
        byte[] batch = new byte[clip.length * windows.length];
        byte[] expected = new byte[t * side * side * 3 * windows.length];
        for (int i = 0; i < windows.length; i++) {
            int[] p = pairs.get(i);
            int[][] grid = MultiScaleCrop.gridOffsets(side, side, p[0], p[1]);
            int[] o = grid[rng.nextInt(grid.length)];
            windows[i] = new MultiScaleCrop.Window(o[0], o[1], p[0], p[1]);
            for (int k = 0; k < clip.length; k++) {
                batch[i * clip.length + k] = (byte) (clip[k] + 37 * i); // a different clip each
            }
            byte[] one = java.util.Arrays.copyOfRange(batch, i * clip.length, (i + 1) * clip.length);
            System.arraycopy(crop.crop().apply(one, t, windows[i]), 0, expected, i * t * side * side * 3,
                    t * side * side * 3);
        }
        assertArrayEquals(expected, onDevice(crop, batch, t, side, side, windows));
    }

    @Test
    void downscalesLikeTheHostCropAndPillow() throws IOException {
        // Pillow's own output for two windows of a 40x36 image (the host crop's reference, see MultiScaleCropTest)
        byte[] image = MultiScaleCropTest.pillowImage();
        List<String> lines = MultiScaleCropTest.goldenLines();
        for (int i = 0; i < lines.size(); i += 2) {
            String[] w = lines.get(i).split(" ");
            int side = Integer.parseInt(w[4]);
            MultiScaleCrop.Window window = new MultiScaleCrop.Window(Integer.parseInt(w[0]), Integer.parseInt(w[1]),
                    Integer.parseInt(w[2]), Integer.parseInt(w[3]));
            byte[] pillow = HexFormat.of().parseHex(lines.get(i + 1));
            assertArrayEquals(pillow, onDevice(new DeviceCrop(40, 36, side), image, 1, 36, 40, window),
                    "Pillow's resize of " + window + " to " + side);
        }
        // the loader test's geometry: 24x24 stored, 16 wide model, windows drawn as the loader draws them
        DeviceCrop small = new DeviceCrop(24, 24, 16);
        SplittableRandom rng = new SplittableRandom(8);
        MultiScaleCrop.Window[] windows = new MultiScaleCrop.Window[6];
        byte[] clip = MultiScaleCropTest.pattern(3, 24, 24);
        byte[] batch = new byte[clip.length * windows.length];
        byte[] expected = new byte[3 * 16 * 16 * 3 * windows.length];
        for (int i = 0; i < windows.length; i++) {
            windows[i] = small.crop().sample(rng);
            System.arraycopy(clip, 0, batch, i * clip.length, clip.length);
            System.arraycopy(small.crop().apply(clip, 3, windows[i]), 0, expected, i * 3 * 16 * 16 * 3,
                    3 * 16 * 16 * 3);
        }
        assertArrayEquals(expected, onDevice(small, batch, 3, 24, 24, windows));
    }

    @Test
    void wholeFramesAtTheModelsSideAreOnlyConverted() {
        DeviceCrop crop = new DeviceCrop(20, 20, 20);
        byte[] frames = MultiScaleCropTest.pattern(2 * 2, 20, 20);
        MultiScaleCrop.Window whole = new MultiScaleCrop.Window(0, 0, 20, 20);
        assertArrayEquals(frames, onDevice(crop, frames, 2, 20, 20, whole, whole));
    }

    @Test
    void rejectsFramesOfAnotherGeometry() {
        DeviceCrop crop = new DeviceCrop(24, 24, 16);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray wrong = m.zeros(new Shape(1, 2, 20, 24, 3), DataType.UINT8);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> crop.apply(m, wrong, new MultiScaleCrop.Window[] {new MultiScaleCrop.Window(0, 0, 24, 24)}));
            assertEquals("frames must be (1, T, 24, 24, 3) uint8, got (1, 2, 20, 24, 3) uint8", e.getMessage());
        }
    }
}
