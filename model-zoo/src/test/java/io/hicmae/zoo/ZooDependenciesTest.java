package io.hicmae.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** model-zoo's pom keeps DJL optional: every dependency that brings DJL or libtorch is {@code <optional>}. */
class ZooDependenciesTest {

    @Test
    void everyDependencyThatBringsDjlIsOptional() throws IOException {
        String pom = Files.readString(Path.of("pom.xml"));
        Matcher dep = Pattern.compile("<dependency>(.*?)</dependency>", Pattern.DOTALL).matcher(pom);
        int checked = 0;
        while (dep.find()) {
            String d = dep.group(1);
            boolean brings = d.contains("<groupId>ai.djl") || d.contains("<artifactId>worker-runtime</artifactId>");
            boolean testOnly = d.contains("<scope>test</scope>");
            if (brings && !testOnly) {
                checked++;
                assertTrue(d.contains("<optional>true</optional>"), "model-zoo/pom.xml: not optional:" + d);
            }
        }
        assertEquals(2, checked, "worker-runtime and ai.djl:api are model-zoo's DJL dependencies");
    }
}
