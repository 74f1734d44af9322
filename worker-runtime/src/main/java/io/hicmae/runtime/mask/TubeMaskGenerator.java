package io.hicmae.runtime.mask;

import java.util.random.RandomGenerator;

/**
 * Video tube masking as the authors' {@code TubeMaskingGenerator}: one random spatial pattern of
 * {@code int(ratio * patchesPerFrame)} masked positions, repeated in every temporal (tubelet) slice, so a
 * masked patch stays hidden for the whole clip and cannot be copied from a neighbouring frame. Token
 * index = {@code t * patchesPerFrame + p}.
 */
public final class TubeMaskGenerator {
    private final int frames;
    private final int patchesPerFrame;
    private final int maskedPerFrame;

    /**
     * @param frames          temporal token slices (tubelets), e.g. 8 for 16 frames with tubelet 2
     * @param patchesPerFrame spatial tokens per slice, e.g. 100 for a 10 x 10 grid
     * @param ratio           masking ratio in [0, 1)
     */
    public TubeMaskGenerator(int frames, int patchesPerFrame, double ratio) {
        Masks.checkPositive("frames", frames);
        Masks.checkPositive("patchesPerFrame", patchesPerFrame);
        this.frames = frames;
        this.patchesPerFrame = patchesPerFrame;
        this.maskedPerFrame = Masks.maskedCount(ratio, patchesPerFrame);
    }

    /** @return masked tokens per sample: {@code frames * int(ratio * patchesPerFrame)} */
    public int maskedCount() {
        return frames * maskedPerFrame;
    }

    /**
     * Draws one sample's mask.
     *
     * @param rng source of randomness; a seeded generator reproduces the mask
     * @return the mask over {@code frames * patchesPerFrame} tokens
     */
    public TokenMask next(RandomGenerator rng) {
        boolean[] pattern = Masks.shuffledFlags(patchesPerFrame, maskedPerFrame, rng);
        boolean[] masked = new boolean[frames * patchesPerFrame];
        for (int t = 0; t < frames; t++) {
            System.arraycopy(pattern, 0, masked, t * patchesPerFrame, patchesPerFrame);
        }
        return TokenMask.of(masked);
    }
}
