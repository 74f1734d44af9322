package io.hicmae.runtime.model;

import ai.djl.ndarray.NDArray;
import ai.djl.nn.Block;
import ai.djl.nn.Parameter;
import io.hicmae.runtime.nn.HicmaeBlock;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The authors' state-dict view of a model: keys such as {@code encoder.blocks.0.attn.qkv.weight} built by walking
 * the block tree by the children's registered names. Loading checks every key and shape before touching any
 * parameter, so a bad weights file never leaves a half-loaded model.
 */
public final class StateDict {

    private StateDict() {}

    /** Parameters by authors' key, in registration order (direct parameters first, then children). */
    public static Map<String, Parameter> parameters(HicmaeBlock root) {
        Map<String, Parameter> out = new LinkedHashMap<>();
        walk(root, "", out);
        return out;
    }

    private static void walk(HicmaeBlock block, String prefix, Map<String, Parameter> out) {
        for (Parameter p : block.getDirectParameters().values()) {
            out.put(prefix + p.getName(), p);
        }
        for (Map.Entry<String, Block> e : block.namedChildren().entrySet()) {
            if (!(e.getValue() instanceof HicmaeBlock child)) {
                throw new IllegalStateException("child " + prefix + e.getKey() + " is not a HicmaeBlock");
            }
            walk(child, prefix + e.getKey() + ".", out);
        }
    }

    /** The current values by key (the parameters' own arrays, not copies). */
    public static Map<String, NDArray> arrays(HicmaeBlock root) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        parameters(root).forEach((k, p) -> out.put(k, p.getArray()));
        return out;
    }

    /**
     * Copies {@code source} into the model's parameters.
     *
     * @param source arrays by authors' key
     * @param origin names the source in error messages (a file path)
     * @param strict whether keys the model does not have are an error (false: ignored, as upstream's fine-tuning
     *     load ignores the decoders)
     * @throws IllegalArgumentException naming every missing key, the first wrong shape or dtype, or unexpected keys
     */
    public static void load(HicmaeBlock root, Map<String, NDArray> source, String origin, boolean strict) {
        Map<String, Parameter> params = parameters(root);
        List<String> missing = new ArrayList<>();
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            NDArray src = source.get(e.getKey());
            if (src == null) {
                missing.add(e.getKey());
                continue;
            }
            NDArray dst = e.getValue().getArray();
            if (!src.getShape().equals(dst.getShape())) {
                throw new IllegalArgumentException(origin + ": key " + e.getKey() + " has shape " + src.getShape()
                        + " but the model expects " + dst.getShape());
            }
            if (src.getDataType() != dst.getDataType()) {
                throw new IllegalArgumentException(origin + ": key " + e.getKey() + " has dtype "
                        + src.getDataType() + " but the model expects " + dst.getDataType());
            }
        }
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException(origin + ": missing " + missing.size() + " key(s): "
                    + abbreviate(missing));
        }
        if (strict) {
            TreeSet<String> unexpected = new TreeSet<>(source.keySet());
            unexpected.removeAll(params.keySet());
            if (!unexpected.isEmpty()) {
                throw new IllegalArgumentException(origin + ": " + unexpected.size()
                        + " key(s) the model does not have: " + abbreviate(new ArrayList<>(unexpected)));
            }
        }
        for (Map.Entry<String, Parameter> e : params.entrySet()) {
            e.getValue().getArray().set(source.get(e.getKey()).toByteBuffer());
        }
    }

    private static String abbreviate(List<String> keys) {
        return keys.size() <= 10 ? keys.toString() : keys.subList(0, 10) + " and " + (keys.size() - 10) + " more";
    }

    /** Number of scalar parameters. */
    public static long count(HicmaeBlock root) {
        long n = 0;
        for (Parameter p : parameters(root).values()) {
            n += p.getShape().size();
        }
        return n;
    }
}
