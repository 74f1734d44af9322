package io.hicmae.zoo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ModelRefTest {
    private static final String VERY_LONG = "a".repeat(65);

    @Test
    void parsesNameVersionAndAlias() {
        assertEquals(new ModelRef("hicmae-base", null, null), ModelRef.parse("hicmae-base"));
        assertEquals(ModelRef.ofVersion("m.v2", 3), ModelRef.parse("m.v2:3"));
        assertEquals(ModelRef.ofVersion("m", 3), ModelRef.parse("m:v000003"));
        assertEquals(ModelRef.ofAlias("m", "production"), ModelRef.parse("m@production"));
        assertEquals("m:v000012", ModelRef.parse("m:12").toString());
        assertTrue(ModelRef.parse("m@latest").isLatest());
    }

    @ParameterizedTest
    @ValueSource(strings = {"../x", "..", ".", "/etc/passwd", "a/b", "a\\b", "", " ", ".staging", "_runs",
        "Upper", "mod\u00e8le", "\u6a21\u578b", "x\u0000y", "m:0", "m:-1", "m:1e3", "m@", "m@../x", "m@a/b", "m:1@x",
        "m@Prod", "m@1x", "file:/tmp/x"})
    void refusesHostileReferences(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelRef.parse(text));
        assertTrue(e.getMessage().startsWith("Invalid value "), e.getMessage());
    }

    @Test
    void refusesVeryLongNamesWithAShortMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelRef.parse(VERY_LONG));
        assertEquals("Invalid value \"" + VERY_LONG + "\" for model name: use 1 to 64 of a-z 0-9 . _ -, starting with"
                + " a letter or digit", e.getMessage());
        String huge = "b".repeat(10_000);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ModelRef.parse(huge)).getMessage().length() < 200);
    }

    @Test
    void escapesNonAsciiInErrors() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ModelRef.parse("mod\u00e8le"));
        assertTrue(e.getMessage().startsWith("Invalid value \"mod\\u00e8le\" for model name"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"../x", "a/b", "", "/abs", "caf\u00e9", ".hidden",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"})
    void storeRefusesHostileNamesBeforeTouchingTheFileSystem(String name, @TempDir Path dir) throws Exception {
        try (ModelZoo zoo = ModelZoo.open(dir.resolve("zoo").toString())) {
            assertThrows(IllegalArgumentException.class, () -> PublishRequest.builder(name));
            assertThrows(IllegalArgumentException.class, () -> zoo.listVersions(name));
            assertThrows(IllegalArgumentException.class, () -> zoo.promote(ModelRef.of("m"), name));
            assertThrows(IllegalArgumentException.class,
                    () -> zoo.checkpoints().write(name, 1, Map.of("f", ContentWriter.of(new byte[0]))));
            assertThrows(IllegalArgumentException.class, () -> PublishRequest.builder("m").optFile(name,
                    ContentWriter.of(new byte[0])));
        }
        assertTrue(Files.notExists(dir.resolve("zoo")), "nothing was written");
    }

    @Test
    void refusesFilesTheZooWritesItself() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PublishRequest.builder("m")
                .optFile("SHA256SUMS", ContentWriter.of(new byte[0])));
        assertTrue(e.getMessage().contains("the zoo writes that file itself"), e.getMessage());
    }
}
