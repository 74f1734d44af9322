package io.hicmae.runtime.nn;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Nothing in the product may create a bf16 array: DJL 0.36's PyTorch engine aborts the JVM on one. The only main
 * source that names {@code BFLOAT16} is the safetensors dtype table, which widens BF16 tensors to fp32 on read.
 */
class NoBf16Test {

    private static final String GUARDED = "worker-runtime/src/main/java/io/hicmae/runtime/io/Safetensors.java";

    private static Path root() {
        Path root = Path.of(System.getProperty("user.dir")).toAbsolutePath().getParent();
        assertTrue(Files.isDirectory(root.resolve("worker-runtime/src/main/java")), "repository root " + root);
        return root;
    }

    @Test
    void noMainSourceNamesBfloat16OutsideTheGuardedReader() throws IOException {
        Path root = root();
        List<String> offenders;
        try (Stream<Path> files = Files.walk(root, 14)) {
            offenders = files
                    .filter(p -> p.toString().endsWith(".java") && p.toString().contains("/src/main/java/"))
                    .map(p -> root.relativize(p).toString())
                    .filter(p -> !p.contains("/target/") && !p.equals(GUARDED))
                    .filter(p -> namesBf16(root.resolve(p)))
                    .toList();
        }
        assertEquals(List.of(), offenders, "main sources that name BFLOAT16 (the engine aborts on a bf16 array)");
    }

    @Test
    void theGuardedReaderWidensBf16ToFp32() throws IOException {
        String reader = Files.readString(root().resolve(GUARDED));
        assertTrue(reader.contains("widenBf16(") && reader.contains("DataType.FLOAT32"), "Safetensors reads BF16 widened");
    }

    /**
     * Whether the code (comments removed) names DJL's bf16 type. The ring's bf16 wire format works on raw 16-bit
     * words in Java and may say "bfloat16" in its documentation; only code can ask the engine for an array.
     */
    private static boolean namesBf16(Path p) {
        try {
            String code = Files.readString(p).replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
            return code.contains("BFLOAT16") || code.contains("BFloat16");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
