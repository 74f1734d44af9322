package io.hicmae.zoo;

import com.google.gson.JsonObject;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Small publish requests whose weights say which publisher wrote them. */
final class Fixtures {
    static final String DATASET_DIGEST = "a".repeat(64);

    private Fixtures() {}

    static PublishRequest request(String model, String runId) {
        JsonObject job = new JsonObject();
        job.addProperty("batch-size", 8);
        JsonObject optimizer = new JsonObject();
        optimizer.addProperty("lr", 1.5e-4);
        job.add("optimizer", optimizer);
        return PublishRequest.builder(model)
                .setWeights(ContentWriter.of(("weights of " + runId).getBytes(StandardCharsets.UTF_8)))
                .setConfig("{\"embed_dim\": 64, \"depth\": 2}")
                .setMetadata(VersionMetadata.builder()
                        .setRunId(runId)
                        .setDataset(URI.create("hdfs://nn/data/voxceleb2"), DATASET_DIGEST)
                        .setJobConfig(job)
                        .setSteps(300)
                        .setFinalLosses(Map.of("loss", 0.25, "recon_loss", 0.2))
                        .setCodeVersion("0123abc")
                        .build())
                .optMetrics(List.of(
                        new StepMetrics(100, Map.of("loss", 0.9, "recon_loss", 0.8)),
                        new StepMetrics(200, Map.of("loss", 0.5, "recon_loss", 0.4)),
                        new StepMetrics(300, Map.of("loss", 0.25, "recon_loss", 0.2))))
                .build();
    }
}
