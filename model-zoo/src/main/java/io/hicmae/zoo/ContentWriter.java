package io.hicmae.zoo;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes one file's bytes; the zoo opens, hashes and closes the stream around it. */
@FunctionalInterface
public interface ContentWriter {
    void writeTo(OutputStream out) throws IOException;

    static ContentWriter of(byte[] content) {
        byte[] copy = content.clone();
        return out -> out.write(copy);
    }

    static ContentWriter of(Path localFile) {
        return out -> Files.copy(localFile, out);
    }
}
