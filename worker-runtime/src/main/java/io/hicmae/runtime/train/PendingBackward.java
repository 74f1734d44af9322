package io.hicmae.runtime.train;

import java.util.function.IntConsumer;

/**
 * The backward half of a training step whose forward pass has run: it fills the trainer's gradient buffer front to
 * back, in stages, so that an all-reduce can start on the first stages' floats while later ones are computed
 * ({@link OverlappedUpdate#reduceDuringBackward}). Runs once, on the thread that ran the forward pass.
 */
@FunctionalInterface
public interface PendingBackward {

    /**
     * Runs the backward pass; {@code floatsWritten} is told the end of the buffer's written floats after each stage
     * (the last call: the buffer's size).
     */
    void run(IntConsumer floatsWritten);
}
