package io.hicmae.runtime.data;

import java.io.IOException;

/**
 * A clip file breaks the {@link ClipSchema} contract: a missing column, or a row whose shape field or tensor size
 * differs from the expected geometry. The message names the file and, where one is involved, the row and the field.
 */
public class ClipFormatException extends IOException {
    private static final long serialVersionUID = 1L;

    /**
     * @param file the file's URI
     * @param problem what is wrong with it
     */
    public ClipFormatException(String file, String problem) {
        super(file + ": " + problem);
    }
}
