package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDList;
import ai.djl.nn.Block;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * An indexed list of blocks, the authors' {@code nn.ModuleList}: children are named "0", "1", ... so their
 * parameters get keys like {@code blocks.3.attn.qkv.weight}. The owner drives the blocks one by one.
 */
public final class BlockStack<B extends Block> extends HicmaeBlock {

    private final List<B> blocks = new ArrayList<>();

    public BlockStack(List<B> blocks) {
        for (B b : blocks) {
            this.blocks.add(child(Integer.toString(this.blocks.size()), b));
        }
    }

    public B get(int i) {
        return blocks.get(i);
    }

    public int size() {
        return blocks.size();
    }

    public List<B> blocks() {
        return Collections.unmodifiableList(blocks);
    }

    /** A stack is a container; its owner calls each block. Running it directly chains single-input blocks. */
    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDList x = inputs;
        for (B b : blocks) {
            x = b.forward(store, x, training);
        }
        return x;
    }
}
