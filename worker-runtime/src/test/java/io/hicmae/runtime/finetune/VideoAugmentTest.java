package io.hicmae.runtime.finetune;

import io.hicmae.runtime.data.ClipTensors;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VideoAugmentTest {

    @Test
    void bilinearResizeMatchesPyTorchsHalfPixelInterpolation() {
        // F.interpolate([[0, 1], [2, 3]], size=4, mode='bilinear', align_corners=False)
        float[] out = new float[16];
        VideoAugment.resizeBilinear(new float[] {0, 1, 2, 3}, 0, 2, new int[] {0, 0, 2, 2}, out, 0, 4);
        assertArrayEquals(new float[] {0, .25f, .75f, 1, .5f, .75f, 1.25f, 1.5f, 1.5f, 1.75f, 2.25f, 2.5f,
                2, 2.25f, 2.75f, 3}, out, 1e-6f);
    }

    @Test
    void resizeOfTheWholeFrameToItsOwnSizeIsTheIdentity() {
        float[] src = new float[5 * 5];
        for (int i = 0; i < src.length; i++) {
            src[i] = i * 0.37f;
        }
        float[] out = new float[25];
        VideoAugment.resizeBilinear(src, 0, 5, new int[] {0, 0, 5, 5}, out, 0, 5);
        assertArrayEquals(src, out);
    }

    @Test
    void cropBoxesStayInsideWithTheRecipesScaleAndAspect() {
        SplittableRandom rng = new SplittableRandom(1);
        for (int i = 0; i < 2000; i++) {
            int[] b = VideoAugment.cropBox(160, 160, rng);
            assertTrue(b[0] >= 0 && b[1] >= 0 && b[0] + b[2] <= 160 && b[1] + b[3] <= 160, Arrays.toString(b));
            double area = (double) b[2] * b[3] / (160 * 160);
            double aspect = (double) b[3] / b[2];
            assertTrue(area > 0.07 && area <= 1.0, "area " + area);
            assertTrue(aspect > 0.7 && aspect < 1.4, "aspect " + aspect);
        }
    }

    @Test
    void erasingUsesOneBoxForEveryFrameAndTouchesNothingElse() {
        int frames = 3;
        int s = 20;
        float[] x = new float[3 * frames * s * s];
        Arrays.fill(x, 7f);

        int[] box = VideoAugment.erase(x, 0, frames, s, 1.0, new SplittableRandom(3));

        assertNotNull(box);
        for (int c = 0; c < 3; c++) {
            for (int t = 0; t < frames; t++) {
                for (int y = 0; y < s; y++) {
                    for (int xx = 0; xx < s; xx++) {
                        boolean inside = y >= box[0] && y < box[0] + box[2] && xx >= box[1] && xx < box[1] + box[3];
                        float v = x[((c * frames + t) * s + y) * s + xx];
                        assertEquals(inside, v != 7f, "c " + c + " t " + t + " y " + y + " x " + xx);
                    }
                }
            }
        }
    }

    @Test
    void randAugmentDrawsOnceForAllFramesOfAClip() {
        int side = 12;
        byte[] frame = new byte[side * side * 3];
        new SplittableRandom(9).nextBytes(frame);
        for (long seed = 0; seed < 20; seed++) {
            byte[] clip = new byte[2 * frame.length];
            System.arraycopy(frame, 0, clip, 0, frame.length);
            System.arraycopy(frame, 0, clip, frame.length, frame.length);

            RandAugment.upstream().apply(clip, 2, side, side, new SplittableRandom(seed));

            assertArrayEquals(Arrays.copyOfRange(clip, 0, frame.length), Arrays.copyOfRange(clip, frame.length,
                    clip.length), "seed " + seed);
        }
    }

    @Test
    void autoContrastAndEqualizeFollowPil() {
        long[] h = new long[256];
        h[51] = 10;
        h[136] = 10;
        int[] stretch = RandAugment.autoContrastLut(h); // scale 255 / 85 = 3
        assertEquals(0, stretch[51]);
        assertEquals(255, stretch[136]);
        assertEquals(147, stretch[100]); // int(100 * 3 - 153)
        assertEquals(0, stretch[10]);
        int[] eq = RandAugment.equalizeLut(h);
        // step = (20 - 10) // 255 = 0: PIL leaves the band unchanged.
        assertEquals(51, eq[51]);
        long[] wide = new long[256];
        wide[0] = 1000;
        wide[255] = 1000;
        wide[128] = 530;
        int[] eq2 = RandAugment.equalizeLut(wide); // step = (2530 - 1000) // 255 = 6
        assertEquals(0, eq2[0]);
        assertEquals((3 + 1000) / 6, eq2[128]);
        assertEquals(255, eq2[255]);
    }

    @Test
    void withoutRandAugmentAPlainClipStaysPlainOutsideTheErasedBox() {
        int frames = 4;
        int side = 24;
        int s = 16;
        byte[] clip = new byte[frames * side * side * 3];
        for (int i = 0; i < clip.length; i += 3) {
            clip[i] = (byte) 200;
            clip[i + 1] = (byte) 100;
            clip[i + 2] = (byte) 50;
        }
        float[] colour = new float[3 * frames * side * side];
        ClipTensors.normalizeFrames(clip, frames, side, side, colour, 0);
        VideoAugment augment = new VideoAugment(s, new RandAugment(7, 4, 0.5, 0.0));
        for (long seed = 0; seed < 8; seed++) {
            float[] out = new float[3 * frames * s * s];

            augment.apply(clip, frames, side, side, out, 0, new SplittableRandom(seed));

            int[] changed = new int[frames];
            for (int c = 0; c < 3; c++) {
                for (int t = 0; t < frames; t++) {
                    for (int p = 0; p < s * s; p++) {
                        float v = out[(c * frames + t) * s * s + p];
                        changed[t] += Math.abs(v - colour[c * frames * side * side]) > 1e-5 ? 1 : 0;
                    }
                }
            }
            assertTrue(Arrays.stream(changed).allMatch(n -> n == changed[0]), Arrays.toString(changed));
            assertTrue(changed[0] <= 3 * s * s / 3 + 3 * s, "seed " + seed + ": " + changed[0]);
        }
    }
}
