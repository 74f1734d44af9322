package io.hicmae.runtime.data;

import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * Talking-face-like clips made in memory, for the demo and tests: each clip has a speaker (face colour and voice
 * pitch) and a loudness envelope; a mouth-like bar opens with the loudness while a voiced tone at the speaker's
 * pitch follows the same envelope. Picture and sound belong together, so the contrastive loss has something to learn.
 * Clip {@code i} of a given seed is always the same.
 *
 * <p>With {@link Variation#NUISANCE} the speaker is carried only by what face and voice share in structure: the
 * face's outline (a per-speaker ellipse) and the voice's pitch, while everything else is drawn per clip: skin and
 * background colour and brightness, the background's lighting (a ramp in a random direction), the face's position, the voice's loudness and
 * timbre (harmonic weights) and the noise level. A backbone whose pooled features mostly follow the mean colour and
 * spectrum (a randomly initialised one) then sees mostly nuisance; one that learned what picture and sound have in
 * common should not. {@link Variation#NONE} is the original generator, clip for clip.
 */
public final class GeneratedClips {

    /**
     * A clip as stored: (T, H, W, 3) uint8 RGB frames and 16 kHz mono PCM, with what the generator chose: the speaker
     * and the syllable rate (syllables per second in [2, 5), the rhythm of both the mouth and the voice).
     */
    public record Clip(byte[] frames, short[] pcm, int speaker, double syllableHz) {}

    /** What varies from clip to clip besides the speaker and the rhythm. */
    public enum Variation {
        /** Nothing: the speaker fixes face colour, face size and pitch (the original generator). */
        NONE,
        /** Colours, brightness, lighting, position, loudness, timbre and noise are drawn per clip. */
        NUISANCE
    }

    private final HicmaeConfig config;
    private final long seed;
    private final int speakers;
    private final Variation variation;

    /** The original generator ({@link Variation#NONE}). */
    public GeneratedClips(HicmaeConfig config, long seed, int speakers) {
        this(config, seed, speakers, Variation.NONE);
    }

    public GeneratedClips(HicmaeConfig config, long seed, int speakers, Variation variation) {
        if (speakers < 1) {
            throw new IllegalArgumentException("Invalid value " + speakers + " for configuration speakers: must be at least 1");
        }
        this.config = config;
        this.seed = seed;
        this.speakers = speakers;
        this.variation = java.util.Objects.requireNonNull(variation, "variation");
    }

    /** PCM samples whose fbank has exactly the config's audio frames: 400 + 160 (frames - 1). */
    public int samplesPerClip() {
        return samplesFor(config);
    }

    /** PCM samples whose fbank has exactly {@code config}'s audio frames: 400 + 160 (frames - 1). */
    public static int samplesFor(HicmaeConfig config) {
        return KaldiFbank.FRAME_LENGTH + KaldiFbank.FRAME_SHIFT * (config.audioFrames() - 1);
    }

    /** Clips drawn for one batch: their frames and PCM, in draw order. */
    public record Drawn(List<byte[]> frames, List<short[]> pcm) {}

    /** {@code n} clips drawn uniformly (with replacement) from indices {@code [0, pool)}. */
    public Drawn draw(int n, int pool, RandomGenerator rng) {
        List<byte[]> frames = new ArrayList<>(n);
        List<short[]> pcm = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Clip c = clip(rng.nextInt(pool));
            frames.add(c.frames());
            pcm.add(c.pcm());
        }
        return new Drawn(frames, pcm);
    }

    public Clip clip(long index) {
        SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + index);
        int speaker = rng.nextInt(speakers);
        int frames = config.numFrames();
        int side = config.imgSize();
        int samples = samplesPerClip();
        double seconds = samples / (double) KaldiFbank.SAMPLE_RATE;
        double syllableHz = 2 + 3 * rng.nextDouble();
        double phase = rng.nextDouble() * 2 * Math.PI;
        double pitch = 110 * Math.pow(2, speaker * 12.0 / (speakers * 12.0) * 2); // 110..440 Hz across speakers
        Look look = variation == Variation.NONE ? plain(speaker, side) : drawn(speaker, side, rng);
        pitch *= look.pitchScale();

        short[] pcm = new short[samples];
        for (int i = 0; i < samples; i++) {
            double t = i / (double) KaldiFbank.SAMPLE_RATE;
            double env = envelope(t, syllableHz, phase);
            double voice = Math.sin(2 * Math.PI * pitch * t) + look.second() * Math.sin(4 * Math.PI * pitch * t)
                    + look.third() * Math.sin(6 * Math.PI * pitch * t);
            double noise = (rng.nextDouble() - 0.5) * look.noise();
            pcm[i] = (short) Math.round(Math.max(-1, Math.min(1, look.loudness() * env * voice + noise)) * 32767);
        }

        byte[] rgbFrames = new byte[frames * side * side * 3];
        double rx = look.radiusX();
        double ry = look.radiusY();
        double squash = rx / ry; // exactly 1 for a round face
        for (int f = 0; f < frames; f++) {
            double t = seconds * (f + 0.5) / frames;
            double open = envelope(t, syllableHz, phase);
            double cx = look.centerX();
            double cy = look.centerY();
            double mouthHalfWidth = rx * 0.45;
            double mouthHalfHeight = Math.max(0.5, ry * 0.35 * open);
            double mouthY = cy + ry * 0.45;
            for (int y = 0; y < side; y++) {
                for (int x = 0; x < side; x++) {
                    double dx = x + 0.5 - cx;
                    double dy = (y + 0.5 - cy) * squash;
                    int[] c = look.background();
                    int grain = look.lighting() == null ? 0 : look.lighting()[y * side + x];
                    if (dx * dx + dy * dy <= rx * rx) {
                        c = look.skin();
                        grain = 0;
                        if (Math.abs(dx) <= mouthHalfWidth && Math.abs(y + 0.5 - mouthY) <= mouthHalfHeight) {
                            c = MOUTH;
                        }
                    }
                    int o = ((f * side + y) * side + x) * 3;
                    rgbFrames[o] = (byte) clamp(c[0] + grain);
                    rgbFrames[o + 1] = (byte) clamp(c[1] + grain);
                    rgbFrames[o + 2] = (byte) clamp(c[2] + grain);
                }
            }
        }
        return new Clip(rgbFrames, pcm, speaker, syllableHz);
    }

    /**
     * How one clip looks and sounds apart from the speaker's pitch and the rhythm: voice loudness, weights of the
     * second and third harmonic, noise amplitude and pitch factor; skin and background RGB, background lighting (an
     * offset per pixel, or null), face centre and radii in pixels.
     */
    private record Look(double loudness, double second, double third, double noise, double pitchScale, int[] skin,
            int[] background, int[] lighting, double centerX, double centerY, double radiusX, double radiusY) {}

    /** {@link Variation#NONE}: everything follows the speaker (face colour, size; fixed timbre and noise). */
    private Look plain(int speaker, int side) {
        float hue = speaker / (float) speakers;
        double faceRadius = side * (0.30 + 0.1 * ((speaker * 7) % speakers) / Math.max(1, speakers - 1));
        return new Look(0.4, 0.5, 0.25, 0.02, 1, rgb(hue, 0.45f, 0.85f), rgb((hue + 0.5f) % 1f, 0.3f, 0.35f), null,
                side / 2.0, side / 2.0, faceRadius, faceRadius);
    }

    /**
     * {@link Variation#NUISANCE}: the speaker fixes only the face's outline (width and height on a grid of
     * ceil(sqrt(speakers)) steps each) and the pitch (within half a semitone); the rest is drawn from {@code rng}.
     */
    private Look drawn(int speaker, int side, SplittableRandom rng) {
        int grid = (int) Math.ceil(Math.sqrt(speakers));
        double wide = grid == 1 ? 0.5 : (speaker % grid) / (double) (grid - 1);
        double tall = grid == 1 ? 0.5 : (speaker / grid) / (double) (grid - 1);
        double loudness = 0.15 + 0.45 * rng.nextDouble();
        double second = rng.nextDouble();
        double third = 0.6 * rng.nextDouble();
        double noise = 0.01 + 0.29 * rng.nextDouble();
        double pitchScale = Math.pow(2, (rng.nextDouble() - 0.5) / 12);
        int[] skin = rgb((float) rng.nextDouble(), (float) (0.25 + 0.5 * rng.nextDouble()),
                (float) (0.45 + 0.55 * rng.nextDouble()));
        int[] background = rgb((float) rng.nextDouble(), (float) (0.1 + 0.5 * rng.nextDouble()),
                (float) (0.1 + 0.6 * rng.nextDouble()));
        // Uneven lighting of the background: a linear ramp of up to +-60 levels in a random direction.
        double strength = 60 * rng.nextDouble();
        double angle = 2 * Math.PI * rng.nextDouble();
        int[] lighting = new int[side * side];
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                double u = ((x + 0.5) / side - 0.5) * Math.cos(angle) + ((y + 0.5) / side - 0.5) * Math.sin(angle);
                lighting[y * side + x] = (int) Math.round(2 * strength * u);
            }
        }
        double cx = side * (0.5 + 0.24 * (rng.nextDouble() - 0.5));
        double cy = side * (0.5 + 0.24 * (rng.nextDouble() - 0.5));
        return new Look(loudness, second, third, noise, pitchScale, skin, background, lighting, cx, cy,
                side * (0.22 + 0.14 * wide), side * (0.22 + 0.14 * tall));
    }

    private static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    private static final int[] MOUTH = {60, 10, 20};

    /** Loudness in [0, 1]: syllables at a few per second. */
    private static double envelope(double t, double hz, double phase) {
        return Math.pow(Math.max(0, Math.sin(2 * Math.PI * hz * t + phase)), 2);
    }

    private static int[] rgb(float h, float s, float v) {
        int c = java.awt.Color.HSBtoRGB(h, s, v);
        return new int[] {(c >> 16) & 0xff, (c >> 8) & 0xff, c & 0xff};
    }
}
