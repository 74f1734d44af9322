package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

import java.util.stream.IntStream;

/**
 * The cross-modal fusion encoder ({@code encoder_fusion}): per layer a video-side block ({@code blocks.i}) and an
 * audio-side block ({@code blocks_audio.i}), each a cross+self block attending to the other modality. Both sides of
 * a layer read the previous values of both streams. Then one LayerNorm per side ({@code norm}, {@code norm_audio}).
 *
 * <p>Inputs: video (B, Nv, C), audio (B, Na, C). Outputs the same shapes.
 */
public final class FusionEncoder extends HicmaeBlock {

    private final BlockStack<CrossSelfBlock> blocks;
    private final LayerNorm norm;
    private final BlockStack<CrossSelfBlock> blocksAudio;
    private final LayerNorm normAudio;

    /** Optional observer of each layer's outputs (golden checks); null in normal use. */
    public interface LayerTap {
        void layer(int i, NDArray video, NDArray audio);
    }

    public FusionEncoder(int width, int depth, int heads, int mlpHidden, float eps, float dropPathMax) {
        blocks = child("blocks", stack(width, depth, heads, mlpHidden, eps, dropPathMax));
        norm = child("norm", new LayerNorm(width, eps));
        blocksAudio = child("blocks_audio", stack(width, depth, heads, mlpHidden, eps, dropPathMax));
        normAudio = child("norm_audio", new LayerNorm(width, eps));
    }

    private static BlockStack<CrossSelfBlock> stack(
            int width, int depth, int heads, int mlpHidden, float eps, float dropPathMax) {
        return new BlockStack<>(IntStream.range(0, depth)
                .mapToObj(i -> new CrossSelfBlock(width, width, heads, mlpHidden, eps,
                        ModalityEncoder.dropRate(dropPathMax, i, depth)))
                .toList());
    }

    /** Fuses the two streams; {@code tap} (nullable) sees each layer's raw outputs. Returns [video, audio]. */
    public NDList fuse(ParameterStore store, NDArray video, NDArray audio, boolean training, LayerTap tap) {
        NDArray v = video;
        NDArray a = audio;
        for (int i = 0; i < blocks.size(); i++) {
            NDArray nextV = blocks.get(i).forward(store, new NDList(v, a), training).singletonOrThrow();
            NDArray nextA = blocksAudio.get(i).forward(store, new NDList(a, v), training).singletonOrThrow();
            v = nextV;
            a = nextA;
            if (tap != null) {
                tap.layer(i, v, a);
            }
        }
        return new NDList(call(norm, store, v, training), call(normAudio, store, a, training));
    }

    public BlockStack<CrossSelfBlock> videoBlocks() {
        return blocks;
    }

    public BlockStack<CrossSelfBlock> audioBlocks() {
        return blocksAudio;
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        return fuse(store, inputs.get(0), inputs.get(1), training, null);
    }

    @Override
    public ai.djl.ndarray.types.Shape[] getOutputShapes(ai.djl.ndarray.types.Shape[] inputShapes) {
        return new ai.djl.ndarray.types.Shape[] {inputShapes[0], inputShapes[1]};
    }
}
