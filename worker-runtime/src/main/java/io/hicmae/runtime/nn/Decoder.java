package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.List;

/**
 * A reconstruction decoder with hierarchical skip connections ({@code decoder}, {@code decoder_audio}): block 0 is
 * a plain self-attention block; block k >= 1 is a cross+self block whose context is the k-th skip feature, deepest
 * encoder layer first. Then {@code norm}, and {@code head} on the last (masked) tokens only.
 *
 * <p>Inputs: x (B, N, Cd) = [visible ; masked] tokens, then the skip features (B, Nv, Cd) deepest first. Output
 * (B, Nm, P) predictions for the masked tokens, P values per patch.
 */
public final class Decoder extends HicmaeBlock {

    private final BlockStack<HicmaeBlock> blocks;
    private final LayerNorm norm;
    private final Linear head;
    private final int outDim;

    public Decoder(int width, int depth, int heads, int mlpHidden, float eps, int outDim) {
        List<HicmaeBlock> list = new ArrayList<>();
        list.add(new Block(width, heads, mlpHidden, eps, 0f));
        for (int i = 1; i < depth; i++) {
            list.add(new CrossSelfBlock(width, width, heads, mlpHidden, eps, 0f));
        }
        blocks = child("blocks", new BlockStack<>(list));
        norm = child("norm", new LayerNorm(width, eps));
        head = child("head", new Linear(width, outDim, true));
        this.outDim = outDim;
    }

    /** Optional observer of each block's output (golden checks). */
    public interface BlockTap {
        void block(int i, NDArray out);
    }

    /**
     * Decodes and predicts the last {@code masked} tokens.
     *
     * @param skips skip features, deepest first; skips.get(k - 1) is block k's context
     */
    public NDArray decode(
            ParameterStore store, NDArray x, List<NDArray> skips, int masked, boolean training, BlockTap tap) {
        if (skips.size() != blocks.size() - 1) {
            throw new IllegalArgumentException(
                    "decoder has " + (blocks.size() - 1) + " skip blocks but got " + skips.size() + " skip features");
        }
        for (int i = 0; i < blocks.size(); i++) {
            NDList in = i == 0 ? new NDList(x) : new NDList(x, skips.get(i - 1));
            x = blocks.get(i).forward(store, in, training).singletonOrThrow(); // (B, N, Cd)
            if (tap != null) {
                tap.block(i, x);
            }
        }
        NDArray last = x.get(new NDIndex(":, {}:", -masked)); // (B, Nm, Cd)
        return call(head, store, call(norm, store, last, training), training); // (B, Nm, P)
    }

    public BlockStack<HicmaeBlock> blocks() {
        return blocks;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        // Generic use: predictions for every token; inputs are x then the skip features.
        NDArray x = inputs.get(0);
        List<NDArray> skips = inputs.subList(1, inputs.size());
        return new NDList(decode(store, x, skips, (int) x.getShape().get(1), training, null));
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), -1, outDim)};
    }
}
