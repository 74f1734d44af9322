package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;

/**
 * One modality's ViT encoder ({@code encoder} for video, {@code encoder_audio} for audio): patch embedding plus the
 * fixed position table, pre-norm blocks, and one final LayerNorm {@code norm} that also normalises every exported
 * intermediate layer (the block stack itself continues on the un-normalised stream).
 *
 * <p>Dimensions: B batch, N tokens (all, or visible only), C width, L depth.
 */
public final class ModalityEncoder extends HicmaeBlock {

    private final PatchEmbed patchEmbed;
    private final BlockStack<Block> blocks;
    private final LayerNorm norm;
    private final SinusoidTable positions;

    public ModalityEncoder(
            PatchEmbed patchEmbed, int tokens, int width, int depth, int heads, int mlpHidden, float eps,
            float dropPathMax) {
        this.patchEmbed = child("patch_embed", patchEmbed);
        this.blocks = child("blocks", new BlockStack<>(IntStream.range(0, depth)
                .mapToObj(i -> new Block(width, heads, mlpHidden, eps, dropRate(dropPathMax, i, depth)))
                .toList()));
        this.norm = child("norm", new LayerNorm(width, eps));
        this.positions = new SinusoidTable(tokens, width);
    }

    /** timm's linearly increasing stochastic-depth rule: block i of L gets max * i / (L - 1). */
    static float dropRate(float max, int i, int depth) {
        return depth == 1 ? 0f : max * i / (depth - 1);
    }

    /** Patch tokens before positions are added: input (B, 3, T, H, W) or (B, 1, time, mel) -> (B, N, C). */
    public NDArray patchTokens(ParameterStore store, NDArray input, boolean training) {
        return call(patchEmbed, store, input, training);
    }

    /** Patch tokens plus the position table, optionally gathered at {@code visibleIndex} (B, K): (B, N|K, C). */
    public NDArray embed(ParameterStore store, NDArray input, NDArray visibleIndex, boolean training) {
        NDArray tokens = patchTokens(store, input, training);
        NDArray withPos = tokens.add(positions.toArray(tokens.getManager()));
        return visibleIndex == null ? withPos : Tokens.gather(withPos, visibleIndex);
    }

    /** Runs the blocks: the raw output of every block, in order (L arrays of (B, N, C)). */
    public List<NDArray> runBlocks(ParameterStore store, NDArray tokens, boolean training) {
        return runBlocks(store, tokens, training, x -> x);
    }

    /**
     * Runs the blocks, passing each block's output through {@code afterBlock} (a backward cut) before anything uses
     * it; returns what {@code afterBlock} returned, in order (L arrays of (B, N, C)).
     */
    public List<NDArray> runBlocks(ParameterStore store, NDArray tokens, boolean training,
            UnaryOperator<NDArray> afterBlock) {
        List<NDArray> outs = new ArrayList<>(blocks.size());
        NDArray x = tokens;
        for (Block b : blocks.blocks()) {
            x = afterBlock.apply(call(b, store, x, training));
            outs.add(x);
        }
        return outs;
    }

    /** The encoder's final LayerNorm, applied to the given block output. */
    public NDArray normalize(ParameterStore store, NDArray blockOutput, boolean training) {
        return call(norm, store, blockOutput, training);
    }

    public int depth() {
        return blocks.size();
    }

    /**
     * For a backward pass cut after every block ({@link #runBlocks(ParameterStore, NDArray, boolean, UnaryOperator)}),
     * per block in order the key prefixes of the parameters whose gradients the block's stage finishes: the block's,
     * and for the first block the patch embedding's too. {@code prefix} is this encoder's key, with its dot.
     */
    public List<List<String>> cutOwners(String prefix) {
        List<List<String>> owners = new ArrayList<>();
        for (int i = 0; i < blocks.size(); i++) {
            owners.add(i == 0 ? List.of(prefix + "blocks.0.", prefix + "patch_embed.")
                    : List.of(prefix + "blocks." + i + "."));
        }
        return owners;
    }

    public BlockStack<Block> blocks() {
        return blocks;
    }

    /**
     * Input (B, ...) and optionally visible indices (B, K); output: {@code norm(block_l output)} for every block l
     * (the last one is the encoder output).
     */
    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray tokens = embed(store, inputs.get(0), inputs.size() > 1 ? inputs.get(1) : null, training);
        NDList normed = new NDList();
        for (NDArray raw : runBlocks(store, tokens, training)) {
            normed.add(normalize(store, raw, training));
        }
        return normed;
    }
}
