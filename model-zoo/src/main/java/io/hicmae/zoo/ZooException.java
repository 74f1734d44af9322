package io.hicmae.zoo;

import java.io.IOException;

/** A store error: a missing model, version or alias, a corrupt version, or a lost race. The message names the URI. */
public class ZooException extends IOException {
    public ZooException(String message) {
        super(message);
    }

    public ZooException(String message, Throwable cause) {
        super(message, cause);
    }
}
