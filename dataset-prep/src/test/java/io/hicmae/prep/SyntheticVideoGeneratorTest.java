package io.hicmae.prep;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.prep.SyntheticVideoGenerator.Labels;
import io.hicmae.prep.SyntheticVideoGenerator.Spec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticVideoGeneratorTest {

    @TempDir Path dir;

    @Test
    void theSameSeedWritesTheSameFilesAndLabels() throws Exception {
        List<Labels> a = new SyntheticVideoGenerator(5).generate(dir.resolve("a"), 2, Spec.talkingFace(1));
        List<Labels> b = new SyntheticVideoGenerator(5).generate(dir.resolve("b"), 2, Spec.talkingFace(1));
        List<Labels> c = new SyntheticVideoGenerator(6).generate(dir.resolve("c"), 2, Spec.talkingFace(1));
        assertEquals(a, b);
        for (Labels l : a) {
            assertArrayEquals(Files.readAllBytes(dir.resolve("a").resolve(l.file())),
                    Files.readAllBytes(dir.resolve("b").resolve(l.file())), l.file());
        }
        assertFalse(Files.readString(dir.resolve("a/videos.csv"))
                .equals(Files.readString(dir.resolve("c/videos.csv"))));
        List<String> csv = Files.readAllLines(dir.resolve("a/videos.csv"));
        assertEquals("file,speaker,face_shape,pitch_class,f0_hz,seconds,fps", csv.get(0));
        assertEquals(3, csv.size());
        assertTrue(csv.get(1).startsWith("synth-5-00000.mp4,"), csv.get(1));
        List<String> manifest = Files.readAllLines(dir.resolve("a/labels.csv"));
        assertEquals(List.of("path,label,split,fold",
                "synth-5-00000.mp4," + SyntheticVideoGenerator.PITCH_CLASSES.get(a.get(0).pitchClass()) + ",val,0",
                "synth-5-00001.mp4," + SyntheticVideoGenerator.PITCH_CLASSES.get(a.get(1).pitchClass()) + ",train,1"),
                manifest);
    }

    @Test
    void theMouthOpensWithTheLoudnessOfTheVoice() throws Exception {
        Path video = dir.resolve("v.mp4");
        new SyntheticVideoGenerator(3).write(video, 0, Spec.talkingFace(5.2));
        List<ClipRecord> clips = new ArrayList<>();
        new VideoClipDecoder(ClipSampler.NON_OVERLAPPING, Duration.ofSeconds(60), Clock.systemUTC())
                .decode(video, "v.mp4", clips::add);
        List<double[]> pairs = new ArrayList<>(); // (mouth pixels, audio rms) per sampled frame
        for (ClipRecord c : clips) {
            short[] pcm = ReferenceDecode.samples(c.pcm());
            for (int k = 0; k < 16; k++) {
                int mouth = 0;
                for (int i = k * 76_800; i < (k + 1) * 76_800; i += 3) {
                    int r = c.frames()[i] & 0xff;
                    int g = c.frames()[i + 1] & 0xff;
                    int b = c.frames()[i + 2] & 0xff;
                    mouth += Math.abs(r - 90) + Math.abs(g - 15) + Math.abs(b - 25) < 40 ? 1 : 0;
                }
                double energy = 0;
                int from = k * 4 * 640; // the frame's 40 ms of audio at 16 kHz
                for (int i = from; i < from + 640; i++) {
                    energy += pcm[i] * (double) pcm[i];
                }
                pairs.add(new double[] {mouth, Math.sqrt(energy / 640)});
            }
        }
        double r = correlation(pairs);
        assertTrue(r > 0.8, "correlation of mouth area and loudness " + r);
    }

    private static double correlation(List<double[]> xy) {
        double n = xy.size();
        double mx = xy.stream().mapToDouble(p -> p[0]).sum() / n;
        double my = xy.stream().mapToDouble(p -> p[1]).sum() / n;
        double sxy = 0;
        double sxx = 0;
        double syy = 0;
        for (double[] p : xy) {
            sxy += (p[0] - mx) * (p[1] - my);
            sxx += (p[0] - mx) * (p[0] - mx);
            syy += (p[1] - my) * (p[1] - my);
        }
        return sxy / Math.sqrt(sxx * syy);
    }
}
