package io.hicmae.runtime.data;

import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;

import java.util.SplittableRandom;

/**
 * Talking-face-like clips made in memory, for the demo and tests: each clip has a speaker (face colour and voice
 * pitch) and a loudness envelope; a mouth-like bar opens with the loudness while a voiced tone at the speaker's
 * pitch follows the same envelope. Picture and sound belong together, so the contrastive loss has something to learn.
 * Clip {@code i} of a given seed is always the same.
 */
public final class GeneratedClips {

    /**
     * A clip as stored: (T, H, W, 3) uint8 RGB frames and 16 kHz mono PCM, with what the generator chose: the speaker
     * and the syllable rate (syllables per second in [2, 5), the rhythm of both the mouth and the voice).
     */
    public record Clip(byte[] frames, short[] pcm, int speaker, double syllableHz) {}

    private final HicmaeConfig config;
    private final long seed;
    private final int speakers;

    public GeneratedClips(HicmaeConfig config, long seed, int speakers) {
        if (speakers < 1) {
            throw new IllegalArgumentException("Invalid value " + speakers + " for configuration speakers: must be at least 1");
        }
        this.config = config;
        this.seed = seed;
        this.speakers = speakers;
    }

    /** PCM samples whose fbank has exactly the config's audio frames: 400 + 160 (frames - 1). */
    public int samplesPerClip() {
        return KaldiFbank.FRAME_LENGTH + KaldiFbank.FRAME_SHIFT * (config.audioFrames() - 1);
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

        short[] pcm = new short[samples];
        for (int i = 0; i < samples; i++) {
            double t = i / (double) KaldiFbank.SAMPLE_RATE;
            double env = envelope(t, syllableHz, phase);
            double voice = Math.sin(2 * Math.PI * pitch * t) + 0.5 * Math.sin(4 * Math.PI * pitch * t)
                    + 0.25 * Math.sin(6 * Math.PI * pitch * t);
            double noise = (rng.nextDouble() - 0.5) * 0.02;
            pcm[i] = (short) Math.round(Math.max(-1, Math.min(1, 0.4 * env * voice + noise)) * 32767);
        }

        float hue = speaker / (float) speakers;
        int[] skin = rgb(hue, 0.45f, 0.85f);
        int[] background = rgb((hue + 0.5f) % 1f, 0.3f, 0.35f);
        byte[] rgbFrames = new byte[frames * side * side * 3];
        double faceRadius = side * (0.30 + 0.1 * ((speaker * 7) % speakers) / Math.max(1, speakers - 1));
        for (int f = 0; f < frames; f++) {
            double t = seconds * (f + 0.5) / frames;
            double open = envelope(t, syllableHz, phase);
            double cx = side / 2.0;
            double cy = side / 2.0;
            double mouthHalfWidth = faceRadius * 0.45;
            double mouthHalfHeight = Math.max(0.5, faceRadius * 0.35 * open);
            double mouthY = cy + faceRadius * 0.45;
            for (int y = 0; y < side; y++) {
                for (int x = 0; x < side; x++) {
                    double dx = x + 0.5 - cx;
                    double dy = y + 0.5 - cy;
                    int[] c = background;
                    if (dx * dx + dy * dy <= faceRadius * faceRadius) {
                        c = skin;
                        if (Math.abs(dx) <= mouthHalfWidth && Math.abs(y + 0.5 - mouthY) <= mouthHalfHeight) {
                            c = MOUTH;
                        }
                    }
                    int o = ((f * side + y) * side + x) * 3;
                    rgbFrames[o] = (byte) c[0];
                    rgbFrames[o + 1] = (byte) c[1];
                    rgbFrames[o + 2] = (byte) c[2];
                }
            }
        }
        return new Clip(rgbFrames, pcm, speaker, syllableHz);
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
