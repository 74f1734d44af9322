package io.hicmae.runtime.mask;

import java.util.random.RandomGenerator;

/**
 * Audio random masking as the authors' {@code RandomMaskingGenerator2D}: {@code int(ratio * tokens)}
 * tokens chosen uniformly without replacement over the whole (time, mel) patch grid.
 */
public final class RandomMaskGenerator {
    private final int tokens;
    private final int masked;

    /**
     * @param tokens number of tokens, e.g. 128 for a 16 x 8 audio patch grid
     * @param ratio  masking ratio in [0, 1)
     */
    public RandomMaskGenerator(int tokens, double ratio) {
        Masks.checkPositive("tokens", tokens);
        this.tokens = tokens;
        this.masked = Masks.maskedCount(ratio, tokens);
    }

    /** @return masked tokens per sample: {@code int(ratio * tokens)} */
    public int maskedCount() {
        return masked;
    }

    /**
     * Draws one sample's mask.
     *
     * @param rng source of randomness; a seeded generator reproduces the mask
     * @return the mask over {@code tokens} tokens
     */
    public TokenMask next(RandomGenerator rng) {
        return TokenMask.of(Masks.shuffledFlags(tokens, masked, rng));
    }
}
