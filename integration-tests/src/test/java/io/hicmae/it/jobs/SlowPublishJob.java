package io.hicmae.it.jobs;

import io.hicmae.zoo.ContentWriter;
import io.hicmae.zoo.ModelZoo;
import io.hicmae.zoo.PublishRequest;
import io.hicmae.zoo.VersionMetadata;

import java.net.URI;
import java.util.Map;

/**
 * A driver that publishes one version whose weights trickle out slowly, so a test can kill the driver JVM in the
 * middle of the publish: {@code SlowPublishJob <zoo URI> <model> <MiB>}. Prints {@code PUBLISH wrote N MiB} after
 * each MiB and {@code PUBLISH done vN} at the end.
 */
public final class SlowPublishJob {

    private SlowPublishJob() {}

    public static void main(String[] args) throws Exception {
        URI root = URI.create(args[0]);
        String model = args[1];
        int mib = Integer.parseInt(args[2]);
        byte[] chunk = new byte[1 << 20];
        ContentWriter slow = out -> {
            for (int i = 1; i <= mib; i++) {
                out.write(chunk);
                out.flush();
                System.out.println("PUBLISH wrote " + i + " MiB");
                System.out.flush();
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new java.io.InterruptedIOException("interrupted while publishing");
                }
            }
        };
        VersionMetadata md = VersionMetadata.builder()
                .setRunId("slow-publish")
                .setDataset(URI.create("file:/nowhere"), "0".repeat(64))
                .setJobConfig(new com.google.gson.JsonObject())
                .setSteps(1)
                .setFinalLosses(Map.of("loss", 1.0))
                .setCodeVersion("integration test")
                .build();
        try (ModelZoo zoo = ModelZoo.open(root, new org.apache.hadoop.conf.Configuration())) {
            var v = zoo.publish(PublishRequest.builder(model).setWeights(slow).setConfig("{}").setMetadata(md).build());
            System.out.println("PUBLISH done v" + v.number());
        }
    }
}
