package io.hicmae.runtime.allreduce;

import java.io.IOException;

/**
 * The ring failed: a neighbour timed out, closed, sent a bad frame or could not prove the job secret, or the
 * calling thread was interrupted. The message names this rank, the peer's rank and host:port, and the step.
 * The ring is closed when this is thrown; the barrier stage must fail so that Spark retries it.
 */
public final class AllReduceException extends IOException {
    private static final long serialVersionUID = 1L;

    public AllReduceException(String message) {
        super(message);
    }

    public AllReduceException(String message, Throwable cause) {
        super(message, cause);
    }
}
