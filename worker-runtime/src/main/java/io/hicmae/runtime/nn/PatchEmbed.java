package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.nn.convolutional.Conv3d;
import ai.djl.training.ParameterStore;
import ai.djl.util.PairList;

/**
 * Patch embedding: a convolution with kernel = stride (its child {@code proj}), flattened to tokens in the order
 * of the convolution's output grid. Video: Conv3d over (frames, rows, cols), token index t*(H'W') + h*W' + w.
 * Audio: Conv2d over (time, mel), token index time_patch * (mel patches) + mel_patch.
 */
public final class PatchEmbed extends HicmaeBlock {

    private final Proj proj;

    /** Video: tubelet x patch x patch tubes of {@code inChans} channels. */
    public static PatchEmbed video(int inChans, int width, int tubelet, int patch) {
        return new PatchEmbed(new Proj(width, new Shape(width, inChans, tubelet, patch, patch)));
    }

    /** Audio: patch x patch squares of a one-channel fbank. */
    public static PatchEmbed audio(int width, int patch) {
        return new PatchEmbed(new Proj(width, new Shape(width, 1, patch, patch)));
    }

    private PatchEmbed(Proj proj) {
        this.proj = child("proj", proj);
    }

    @Override
    protected NDList forwardInternal(
            ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
        NDArray grid = call(proj, store, inputs.singletonOrThrow(), training); // (B, C, T', H', W') or (B, C, T', F')
        Shape s = grid.getShape();
        return new NDList(grid.reshape(s.get(0), s.get(1), -1).transpose(0, 2, 1)); // (B, N, C)
    }

    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {new Shape(inputShapes[0].get(0), -1, proj.width)};
    }

    /** The convolution itself, named {@code proj} with {@code weight} and {@code bias} as in PyTorch. */
    static final class Proj extends HicmaeBlock {
        private final long width;
        private final Shape kernel;
        private final Parameter weight;
        private final Parameter bias;

        Proj(long width, Shape weightShape) {
            this.width = width;
            this.kernel = weightShape.slice(2);
            long fanIn = weightShape.slice(1).size();
            weight = param("weight", Parameter.Type.WEIGHT, weightShape, Init.convDefault(fanIn));
            bias = param("bias", Parameter.Type.BIAS, new Shape(width), Init.convDefault(fanIn));
        }

        @Override
        protected NDList forwardInternal(
                ParameterStore store, NDList inputs, boolean training, PairList<String, Object> params) {
            NDArray x = inputs.singletonOrThrow();
            NDArray w = value(store, weight, x, training);
            NDArray b = value(store, bias, x, training);
            NDArray xc = Precision.compute(x);
            NDArray wc = Precision.compute(w, x);
            NDArray bc = Precision.compute(b, x);
            NDList y = kernel.dimension() == 3 ? Conv3d.conv3d(xc, wc, bc, kernel) : Conv2d.conv2d(xc, wc, bc, kernel);
            return new NDList(Precision.full(y.singletonOrThrow()));
        }

        @Override
        public Shape[] getOutputShapes(Shape[] inputShapes) {
            Shape in = inputShapes[0];
            long[] out = new long[in.dimension()];
            out[0] = in.get(0);
            out[1] = width;
            for (int i = 2; i < out.length; i++) {
                out[i] = in.get(i) / kernel.get(i - 2);
            }
            return new Shape[] {new Shape(out)};
        }
    }
}
