package io.hicmae.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store as a zoo user has it, without DJL or libtorch: run only by model-zoo's surefire execution
 * {@code zoo-without-djl}, whose classpath lacks worker-runtime, DJL and the PyTorch engine, it publishes, lists,
 * verifies and pulls. {@link ZooDependenciesTest} checks that no consumer gets them through model-zoo.
 */
class ZooWithoutDjlTest {
    @TempDir Path dir;

    @Test
    void theStoreWorksWithoutDjlOrLibtorchOnTheClasspath() throws IOException {
        assertThrows(ClassNotFoundException.class, () -> Class.forName("ai.djl.Model"),
                "DJL is on the classpath: this test runs in model-zoo's surefire execution zoo-without-djl");
        assertThrows(ClassNotFoundException.class, () -> Class.forName("io.hicmae.runtime.config.HicmaeConfig"),
                "worker-runtime is on the classpath");
        try (ModelZoo zoo = ModelZoo.open(dir.resolve("zoo").toString())) {
            VersionInfo v = zoo.publish(Fixtures.request("m", "run-1"));
            assertEquals(1, zoo.listModels().size());
            assertEquals(v.version(), zoo.verify(ModelRef.parse("m@latest")).version());
            Path pulled = zoo.pull(ModelRef.parse("m:1"), dir.resolve("pulled"));
            assertEquals("weights of run-1", Files.readString(pulled.resolve(PublishRequest.WEIGHTS),
                    StandardCharsets.UTF_8));
        }
    }
}
