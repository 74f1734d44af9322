package io.hicmae.prep;

import io.hicmae.runtime.data.ClipSchema;
import java.io.IOException;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.ShortBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Writes talking-face-like mp4 videos in which picture and sound belong together, deterministically for a seed.
 *
 * <p>Each video has one speaker out of {@link #SPEAKERS}. A speaker has a face shape (one of four outlines and a skin
 * tone) and a voice (one of three pitch classes). The voice is a harmonic tone at the speaker's pitch shaped into
 * syllables; the mouth's opening follows the syllables' loudness frame by frame, so lip motion and sound match.
 * Eyes blink now and then and the head sways a little. Video is H.264 through libopenh264 ({@link #VIDEO_CODEC};
 * the bytedeco FFmpeg build has no libx264), audio is AAC at 44.1 kHz mono, written by {@link MediaWriter}.
 *
 * <p>{@link #generate} also writes two CSV files beside the videos: {@value #LABELS_FILE}, a labelled manifest for
 * {@code hicmae prep --manifest} ({@code path,label,split,fold}), and {@value #METADATA_FILE} with everything known
 * about each video ({@link Labels}). The manifest's label is the speaker's voice pitch class ({@code low},
 * {@code mid}, {@code high}): learnable from the audio alone (base pitches 110, 165 and 230 Hz, each within 6%) and,
 * through the speaker's face, from the video, with more than one video per class even for a handful of videos
 * (speaker ids, eight classes, would leave most classes with one video). Video {@code i} is in fold {@code i % 5};
 * fold 0 is the {@code val} split, the others {@code train}.
 */
public final class SyntheticVideoGenerator {

    /** Name of the labelled manifest written beside the videos. */
    public static final String LABELS_FILE = "labels.csv";
    /** Name of the per-video metadata file written beside the videos. */
    public static final String METADATA_FILE = "videos.csv";
    /** The manifest's class names, by pitch class. */
    public static final List<String> PITCH_CLASSES = List.of("low", "mid", "high");
    /** Folds of the manifest. */
    public static final int FOLDS = 5;
    /** Distinct speakers videos are drawn from. */
    public static final int SPEAKERS = 8;
    /** FFmpeg encoder used for video. */
    public static final String VIDEO_CODEC = "libopenh264";
    /** Audio sample rate of the written files (resampled to 16 kHz by the decoder). */
    public static final int SOURCE_SAMPLE_RATE = 44_100;

    private static final double[] PITCH_CLASS_HZ = {110, 165, 230};
    private static final int HARMONICS = 12;

    private final long seed;

    /** A generator whose videos depend only on {@code seed} and their index. */
    public SyntheticVideoGenerator(long seed) {
        this.seed = seed;
    }

    /**
     * How to write one video.
     *
     * @param width frame width in pixels (even)
     * @param height frame height in pixels (even)
     * @param fps frame rate
     * @param seconds length
     * @param rotation display rotation stored in the file, counter-clockwise degrees (0, 90, 180, 270); the frames
     *     themselves are written unrotated
     * @param video whether to write a video stream
     * @param audio whether to write an audio stream
     */
    public record Spec(int width, int height, double fps, double seconds, int rotation, boolean video, boolean audio) {

        public Spec {
            if (width < 16 || height < 16 || width % 2 != 0 || height % 2 != 0) {
                throw new IllegalArgumentException(
                        "Invalid size " + width + "x" + height + ": sides must be even and at least 16");
            }
            if (!(fps > 0) || !(seconds > 0)) {
                throw new IllegalArgumentException(
                        "Invalid fps " + fps + " or seconds " + seconds + ": both must be positive");
            }
            if (rotation % 90 != 0) {
                throw new IllegalArgumentException("Invalid rotation " + rotation + ": must be a multiple of 90");
            }
            if (!video && !audio) {
                throw new IllegalArgumentException("A video needs a video stream, an audio stream or both");
            }
        }

        /** VoxCeleb2-like: 224x224 at 25 fps with audio. */
        public static Spec talkingFace(double seconds) {
            return new Spec(ClipSchema.SCALED_SIZE, ClipSchema.SCALED_SIZE, ClipSchema.REFERENCE_FPS, seconds, 0,
                    true, true);
        }

        public Spec withSize(int w, int h) {
            return new Spec(w, h, fps, seconds, rotation, video, audio);
        }

        public Spec withFps(double f) {
            return new Spec(width, height, f, seconds, rotation, video, audio);
        }

        public Spec withRotation(int degrees) {
            return new Spec(width, height, fps, seconds, degrees, video, audio);
        }

        public Spec withStreams(boolean withVideo, boolean withAudio) {
            return new Spec(width, height, fps, seconds, rotation, withVideo, withAudio);
        }
    }

    /**
     * What is known about a synthetic video, one row of {@value #METADATA_FILE}.
     *
     * @param file file name
     * @param speaker speaker id in [0, {@link #SPEAKERS})
     * @param faceShape face outline id in [0, 4)
     * @param pitchClass voice pitch class in [0, 3): low, mid, high
     * @param f0Hz the speaker's base pitch
     * @param seconds length
     * @param fps frame rate
     */
    public record Labels(
            String file, int speaker, int faceShape, int pitchClass, double f0Hz, double seconds, double fps) {

        static final String CSV_HEADER = "file,speaker,face_shape,pitch_class,f0_hz,seconds,fps";

        String csv() {
            return String.format(
                    Locale.ROOT, "%s,%d,%d,%d,%.2f,%.3f,%.3f", file, speaker, faceShape, pitchClass, f0Hz, seconds,
                    fps);
        }

        /** The row of {@value #LABELS_FILE} of video number {@code index}: path, pitch class, split and fold. */
        String manifestCsv(int index) {
            int fold = index % FOLDS;
            return file + "," + PITCH_CLASSES.get(pitchClass) + "," + (fold == 0 ? "val" : "train") + "," + fold;
        }
    }

    /** A speaker's fixed traits. */
    private record Speaker(int id, int faceShape, int pitchClass, double f0Hz, int[] skin) {}

    private Speaker speaker(int id) {
        SplittableRandom r = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + 7919L * id + 1);
        int pitch = r.nextInt(PITCH_CLASS_HZ.length);
        int[] skin = {150 + r.nextInt(90), 100 + r.nextInt(70), 70 + r.nextInt(60)};
        return new Speaker(id, r.nextInt(4), pitch, PITCH_CLASS_HZ[pitch] * (0.94 + 0.12 * r.nextDouble()), skin);
    }

    /**
     * Writes {@code videos} files named {@code synth-<seed>-<index>.mp4} into {@code dir}, plus {@value
     * #LABELS_FILE} and {@value #METADATA_FILE}.
     */
    public List<Labels> generate(Path dir, int videos, Spec spec) throws IOException {
        Files.createDirectories(dir);
        List<Labels> labels = new ArrayList<>();
        for (int i = 0; i < videos; i++) {
            labels.add(write(dir.resolve(String.format(Locale.ROOT, "synth-%d-%05d.mp4", seed, i)), i, spec));
        }
        try (Writer w = Files.newBufferedWriter(dir.resolve(METADATA_FILE), StandardCharsets.UTF_8)) {
            w.write(Labels.CSV_HEADER + "\n");
            for (Labels l : labels) {
                w.write(l.csv() + "\n");
            }
        }
        try (Writer w = Files.newBufferedWriter(dir.resolve(LABELS_FILE), StandardCharsets.UTF_8)) {
            w.write("path,label,split,fold\n");
            for (int i = 0; i < videos; i++) {
                w.write(labels.get(i).manifestCsv(i) + "\n");
            }
        }
        return labels;
    }

    /** Writes video number {@code index} of this seed to {@code file}. */
    public Labels write(Path file, int index, Spec spec) throws IOException {
        FfmpegNatives.ensureLoaded();
        SplittableRandom r = new SplittableRandom(seed * 0x632BE59BD9B4E019L + index);
        Speaker who = speaker(r.nextInt(SPEAKERS));
        Voice voice = new Voice(who.f0Hz, spec.seconds, r.split());
        Face face = new Face(who, spec.width, spec.height, r.split());
        MediaWriter.Format format = new MediaWriter.Format(
                spec.video ? spec.width : 0, spec.height, spec.fps, VIDEO_CODEC, (long) spec.width * spec.height * 8,
                (int) Math.round(spec.fps * 2), spec.rotation, spec.audio ? SOURCE_SAMPLE_RATE : 0, 64_000);
        try (MediaWriter rec = new MediaWriter(file, format)) {
            long totalSamples = Math.round(spec.seconds * SOURCE_SAMPLE_RATE);
            long frames = spec.video ? Math.round(spec.seconds * spec.fps) : 0;
            long written = 0;
            ByteBuffer rgb = ByteBuffer.allocateDirect(spec.width * spec.height * 3);
            for (long f = 0; f < Math.max(frames, 1) || written < totalSamples; f++) {
                if (f < frames) {
                    double t = f / spec.fps;
                    face.draw(rgb, t, voice.loudness(t));
                    rec.image(rgb);
                }
                long upTo = spec.video ? Math.min(totalSamples, Math.round((f + 1) / spec.fps * SOURCE_SAMPLE_RATE))
                        : totalSamples;
                if (spec.audio && upTo > written) {
                    rec.samples(voice.samples(written, (int) (upTo - written)));
                }
                written = Math.max(written, upTo);
            }
            rec.finish();
        } catch (IOException e) {
            throw new IOException("Cannot write synthetic video " + file + ": " + e.getMessage(), e);
        }
        return new Labels(file.getFileName().toString(), who.id, who.faceShape, who.pitchClass, who.f0Hz,
                spec.seconds, spec.fps);
    }

    /** A voiced sound: harmonics of a gliding pitch, cut into syllables by a loudness envelope. */
    private static final class Voice {
        private final double f0;
        private final double[] starts; // syllable starts, seconds
        private final double[] lengths;
        private final double[] peaks;
        private final SplittableRandom noise;
        private double phase;

        Voice(double f0, double seconds, SplittableRandom r) {
            this.f0 = f0;
            List<double[]> syl = new ArrayList<>();
            double t = 0.05 + 0.2 * r.nextDouble();
            while (t < seconds) {
                double len = 0.12 + 0.23 * r.nextDouble();
                syl.add(new double[] {t, len, 0.35 + 0.65 * r.nextDouble()});
                t += len + 0.04 + (r.nextDouble() < 0.2 ? 0.3 + 0.4 * r.nextDouble() : 0.08 * r.nextDouble());
            }
            starts = syl.stream().mapToDouble(s -> s[0]).toArray();
            lengths = syl.stream().mapToDouble(s -> s[1]).toArray();
            peaks = syl.stream().mapToDouble(s -> s[2]).toArray();
            noise = r.split();
        }

        /** Loudness in [0, 1] at time t: a raised-cosine bump per syllable. */
        double loudness(double t) {
            for (int i = 0; i < starts.length; i++) {
                double u = (t - starts[i]) / lengths[i];
                if (u >= 0 && u < 1) {
                    return peaks[i] * 0.5 * (1 - Math.cos(2 * Math.PI * u));
                }
            }
            return 0;
        }

        /** Samples [from, from + n) of the voice as s16. */
        ShortBuffer samples(long from, int n) {
            short[] out = new short[n];
            for (int i = 0; i < n; i++) {
                double t = (from + i) / (double) SOURCE_SAMPLE_RATE;
                double pitch = f0 * (1 + 0.06 * Math.sin(2 * Math.PI * 0.7 * t));
                phase += 2 * Math.PI * pitch / SOURCE_SAMPLE_RATE;
                double v = 0;
                for (int h = 1; h <= HARMONICS; h++) {
                    v += Math.sin(h * phase) / h;
                }
                double s = 0.18 * loudness(t) * v + 0.004 * (noise.nextDouble() * 2 - 1);
                out[i] = (short) Math.max(-32767, Math.min(32767, Math.round(s * 32767)));
            }
            return ShortBuffer.wrap(out);
        }
    }

    /** A face drawn with ellipses: outline by shape id, two blinking eyes, a mouth that opens with loudness. */
    private static final class Face {
        private final Speaker who;
        private final int w;
        private final int h;
        private final int[] background;
        private final double swayHz;
        private final double blinkPhase;

        Face(Speaker who, int w, int h, SplittableRandom r) {
            this.who = who;
            this.w = w;
            this.h = h;
            this.background = new int[] {20 + r.nextInt(60), 30 + r.nextInt(60), 40 + r.nextInt(80)};
            this.swayHz = 0.2 + 0.3 * r.nextDouble();
            this.blinkPhase = r.nextDouble() * 3;
        }

        void draw(ByteBuffer rgb, double t, double loudness) {
            // Outline half-axes per shape: round, long, wide, squarish (superellipse exponent 4).
            double[][] axes = {{0.30, 0.34}, {0.24, 0.40}, {0.36, 0.30}, {0.29, 0.33}};
            double ax = axes[who.faceShape][0] * w;
            double ay = axes[who.faceShape][1] * h;
            double exponent = who.faceShape == 3 ? 4 : 2;
            double cx = w * (0.5 + 0.03 * Math.sin(2 * Math.PI * swayHz * t));
            double cy = h * (0.45 + 0.01 * Math.sin(2 * Math.PI * swayHz * 1.3 * t));
            boolean blink = ((t + blinkPhase) % 3.0) < 0.12;
            double eyeH = (blink ? 0.005 : 0.03) * h;
            double mouthH = (0.008 + 0.08 * loudness) * h;
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    int[] c = background;
                    double fx = Math.abs((x - cx) / ax);
                    double fy = Math.abs((y - cy) / ay);
                    if (Math.pow(fx, exponent) + Math.pow(fy, exponent) <= 1) {
                        c = who.skin;
                        if (inEllipse(x, y, cx - 0.11 * w, cy - 0.1 * h, 0.045 * w, eyeH)
                                || inEllipse(x, y, cx + 0.11 * w, cy - 0.1 * h, 0.045 * w, eyeH)) {
                            c = EYE;
                        } else if (inEllipse(x, y, cx, cy + 0.17 * h, 0.11 * w, mouthH)) {
                            c = MOUTH;
                        }
                    }
                    int o = (y * w + x) * 3;
                    rgb.put(o, (byte) c[0]).put(o + 1, (byte) c[1]).put(o + 2, (byte) c[2]);
                }
            }
        }

        private static final int[] EYE = {25, 20, 20};
        private static final int[] MOUTH = {90, 15, 25};

        private static boolean inEllipse(double x, double y, double cx, double cy, double ax, double ay) {
            double dx = (x - cx) / ax;
            double dy = (y - cy) / ay;
            return dx * dx + dy * dy <= 1;
        }
    }
}
