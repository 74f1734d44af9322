package io.hicmae.runtime.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A weights file (.npz or .safetensors) is corrupt, truncated or not in the expected format. The message
 * names the file and, where one is involved, the array key.
 */
public class WeightsFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * @param file    the file being read
     * @param problem what is wrong with it
     */
    public WeightsFormatException(Path file, String problem) {
        super(file + ": " + problem);
    }

    /**
     * @param file    the file being read
     * @param problem what is wrong with it
     * @param cause   the underlying error
     */
    public WeightsFormatException(Path file, String problem, Throwable cause) {
        super(file + ": " + problem, cause);
    }
}
