package io.hicmae.runtime.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.AbstractBlock;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.training.initializer.Initializer;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Base of every HiCMAE block: children and parameters carry the authors' names, and every parameter's shape is
 * known at construction, so a model initialises without shape inference and its state-dict keys come from walking
 * {@link #namedChildren()} and {@link #getDirectParameters()}.
 */
public abstract class HicmaeBlock extends AbstractBlock {

    private final Map<String, Block> namedChildren = new LinkedHashMap<>();

    /** Registers a child under the authors' attribute name (DJL prefixes its own copy of the name). */
    protected final <B extends Block> B child(String name, B block) {
        namedChildren.put(name, block);
        return addChildBlock(name, block);
    }

    /** Registers a parameter with its authors' name, fixed shape and initialiser. */
    protected final Parameter param(String name, Parameter.Type type, Shape shape, Initializer init) {
        return addParameter(
                Parameter.builder().setName(name).setType(type).optShape(shape).optInitializer(init).build());
    }

    /** Children by the authors' attribute names, in registration order. */
    public final Map<String, Block> namedChildren() {
        return Collections.unmodifiableMap(namedChildren);
    }

    /** The parameter's value on the input's device. */
    protected static NDArray value(ParameterStore store, Parameter p, NDArray like, boolean training) {
        return store.getValue(p, like.getDevice(), training);
    }

    @Override
    protected void initializeChildBlocks(NDManager manager, DataType dataType, Shape... inputShapes) {
        // Every parameter shape is fixed at construction; children need no input shapes.
        for (Block b : namedChildren.values()) {
            b.initialize(manager, dataType, inputShapes);
        }
    }

    /** Most blocks map (B, N, C) to (B, N, C); blocks that change widths override this. */
    @Override
    public Shape[] getOutputShapes(Shape[] inputShapes) {
        return new Shape[] {inputShapes[0]};
    }

    /** Runs a child that takes and returns one array. */
    protected static NDArray call(Block b, ParameterStore store, NDArray x, boolean training) {
        return b.forward(store, new NDList(x), training).singletonOrThrow();
    }
}
