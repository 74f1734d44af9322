package io.hicmae.zoo.djl;

import ai.djl.repository.zoo.Criteria;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.VersionInfo;
import io.hicmae.zoo.ZooException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * DJL {@link Criteria} for the HiCMAE feature extractor of a published version: a clip's frames and PCM in, the fused
 * embedding (4C floats, before {@code fc_norm}) out. Works for pre-training versions (decoders ignored, uniform layer
 * weights) and fine-tuned ones (their learnt layer weights; the head is ignored).
 *
 * <pre>{@code
 * Criteria<HicmaeClip, float[]> criteria = HicmaeZooModels.criteria("hdfs://nn/zoo", "hicmae-base@production");
 * try (ZooModel<HicmaeClip, float[]> model = criteria.loadModel();
 *         Predictor<HicmaeClip, float[]> predictor = model.newPredictor()) {
 *     float[] embedding = predictor.predict(new HicmaeClip(framesRgb, pcm16));
 * }
 * }</pre>
 */
public final class HicmaeZooModels {

    private HicmaeZooModels() {}

    /**
     * Fetches {@code ref} ({@code name}, {@code name:version} or {@code name@alias}) from the zoo at {@code zooUri}
     * into the local cache and returns criteria that load it with the PyTorch engine.
     *
     * @throws IOException if the version cannot be fetched, or its {@code config.json} is missing or invalid (the
     *     message names the zoo URI, the version and the key)
     */
    public static Criteria<HicmaeClip, float[]> criteria(String zooUri, String ref) throws IOException {
        try (ModelZoo zoo = ModelZoo.open(zooUri)) {
            return criteria(zoo, ref);
        }
    }

    /** {@link #criteria(String, String)} on an open zoo (e.g. one opened with a Hadoop configuration). */
    public static Criteria<HicmaeClip, float[]> criteria(ModelZoo zoo, String ref) throws IOException {
        VersionInfo version = zoo.resolve(ref);
        Path dir = zoo.fetch(version.ref());
        String origin = "model " + version.ref() + " in zoo " + zoo.root();
        HicmaeConfig config = readConfig(dir.resolve(PublishRequest.CONFIG), origin);
        return Criteria.builder()
                .setTypes(HicmaeClip.class, float[].class)
                .optEngine("PyTorch")
                .optModelPath(dir)
                .optModelName(version.ref().toString())
                .optArgument("blockFactory", new EncoderBlockFactory(config, origin))
                .optOption("hasParameter", "false")
                .optTranslator(new HicmaeTranslator(config))
                .build();
    }

    private static HicmaeConfig readConfig(Path file, String origin) throws IOException {
        String json;
        try {
            json = Files.readString(file);
        } catch (NoSuchFileException e) {
            throw new ZooException(origin + " has no " + PublishRequest.CONFIG, e);
        }
        try {
            return HicmaeConfig.fromJson(json, file.toString());
        } catch (RuntimeException e) { // malformed JSON, a missing key, inconsistent sizes
            throw new ZooException("Invalid " + PublishRequest.CONFIG + " of " + origin + ": " + e.getMessage(), e);
        }
    }
}
