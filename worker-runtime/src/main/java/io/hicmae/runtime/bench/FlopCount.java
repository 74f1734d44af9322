package io.hicmae.runtime.bench;

import io.hicmae.runtime.config.HicmaeConfig;

/**
 * Analytic multiply-add count of one pre-training step (matrix products only: projections, MLPs, attention scores
 * and mixing, patch embeddings, heads), forward x 3 for forward + backward. Used to express a step's speed as a
 * fraction of the engine's plain matmul rate.
 */
public final class FlopCount {

    private FlopCount() {}

    /** FLOPs (2 per multiply-add) of forward + backward for a batch of {@code batch} clips. */
    public static double pretrainStep(HicmaeConfig c, int batch) {
        return 3 * forward(c) * batch;
    }

    /** FLOPs of one clip's forward pass. */
    public static double forward(HicmaeConfig c) {
        long w = c.embedDim();
        long nv = c.videoVisible();
        long na = c.audioVisible();
        double f = 0;
        f += linear(c.videoTokens(), c.videoPatchDim(), w); // conv patch embeddings (all tokens)
        f += linear(c.audioTokens(), c.audioPatchDim(), w);
        f += c.depth() * block(nv, w, c.mlpHidden((int) w));
        f += c.depthAudio() * block(na, w, c.mlpHidden((int) w));
        f += c.fusionDepth() * (crossSelf(nv, na, w, w, c.mlpHidden((int) w)) + crossSelf(na, nv, w, w, c.mlpHidden((int) w)));
        f += decoder(c.videoTokens(), nv, c.videoMasked(), w, c.decoderDim(), c.decoderDepth(),
                c.mlpHidden(c.decoderDim()), c.videoPatchDim(), c.intermediateLayers().length);
        f += decoder(c.audioTokens(), na, c.audioMasked(), w, c.decoderDimAudio(), c.decoderDepthAudio(),
                c.mlpHidden(c.decoderDimAudio()), c.audioPatchDim(), c.intermediateLayers().length);
        return f;
    }

    private static double linear(long tokens, long in, long out) {
        return 2.0 * tokens * in * out;
    }

    private static double attention(long n, long m, long w) {
        return 2.0 * 2 * n * m * w; // scores and mixing
    }

    private static double block(long n, long w, long hidden) {
        return linear(n, w, 3 * w) + attention(n, n, w) + linear(n, w, w) + 2 * linear(n, w, hidden);
    }

    private static double crossSelf(long n, long m, long w, long ctx, long hidden) {
        return linear(n, w, w) + linear(m, ctx, 2 * w) + attention(n, m, w) + linear(n, w, w) + block(n, w, hidden);
    }

    private static double decoder(long n, long visible, long masked, long w, long d, int depth, long hidden,
            long out, int skips) {
        double f = linear(visible, w, d) * (1 + skips); // encoder_to_decoder on the main path and each skip
        f += block(n, d, hidden);
        f += (depth - 1) * crossSelf(n, visible, d, d, hidden);
        f += linear(masked, d, out);
        return f;
    }
}
