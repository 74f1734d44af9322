package io.hicmae.zoo.djl;

import ai.djl.Model;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.BlockFactory;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.io.Safetensors;
import io.hicmae.runtime.model.HicmaeEncoder;
import io.hicmae.zoo.PublishRequest;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * Builds the {@link HicmaeEncoder} of a fetched version and loads its {@code model.safetensors} (authors' keys) in
 * place of DJL's {@code .params} file, which a version does not have: the Criteria sets {@code hasParameter=false}.
 * The parameters live in a sub-manager of the model's manager, so they close with the model, and at once if loading
 * fails. They are frozen: the block is a feature extractor.
 */
final class EncoderBlockFactory implements BlockFactory {

    private final HicmaeConfig config;
    private final String origin;

    /** @param origin names the version in errors: zoo URI, model and version */
    EncoderBlockFactory(HicmaeConfig config, String origin) {
        this.config = config;
        this.origin = origin;
    }

    @Override
    public Block newBlock(Model model, Path modelPath, Map<String, ?> arguments) throws IOException {
        Path file = modelPath.resolve(PublishRequest.WEIGHTS);
        NDManager params = model.getNDManager().newSubManager();
        try {
            HicmaeEncoder encoder = new HicmaeEncoder(config);
            encoder.initialize(params, DataType.FLOAT32, new Shape(1));
            try (NDManager io = params.newSubManager()) {
                Map<String, NDArray> weights;
                try {
                    weights = Safetensors.read(io, file);
                } catch (IOException e) {
                    throw new IOException(origin + ": cannot read " + PublishRequest.WEIGHTS + " (" + e + ")", e);
                }
                encoder.loadWeights(weights, origin + ", " + PublishRequest.WEIGHTS);
            }
            encoder.freezeParameters(true);
            return encoder;
        } catch (IOException | RuntimeException e) {
            params.close();
            throw e;
        }
    }

    @Override
    public String toString() {
        return "HicmaeEncoder of " + origin;
    }
}
