package io.hicmae.runtime.train;

import io.hicmae.runtime.allreduce.AllReduceException;
import io.hicmae.runtime.allreduce.RingAllReduce;

import java.time.Duration;

/**
 * How far a backward pass in stages has written the gradient buffer, front to back: the backward pass publishes each
 * end it has written, and the bucketed all-reduce running beside it waits for each bucket's end, within a deadline.
 */
final class WrittenFloats implements RingAllReduce.BucketGate {

    private final Duration timeout;
    private int written;
    private Throwable failure;

    WrittenFloats(Duration timeout) {
        this.timeout = timeout;
    }

    /** Floats {@code [0, end)} are written and final for this step. */
    synchronized void publish(int end) {
        written = Math.max(written, end);
        notifyAll();
    }

    /** The backward pass failed: no more floats will be written. */
    synchronized void fail(Throwable cause) {
        failure = cause;
        notifyAll();
    }

    @Override
    public synchronized void awaitWritten(int end) throws AllReduceException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (written < end) {
            if (failure != null) {
                throw new AllReduceException("the backward pass failed after writing " + written + " of the "
                        + end + " gradient floats this bucket needs: " + failure);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AllReduceException("the backward pass wrote " + written + " of the " + end
                        + " gradient floats this bucket needs within " + timeout.toMillis() + " ms (io-timeout)");
            }
            try {
                wait(Math.max(1, left / 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AllReduceException("interrupted waiting for the backward pass");
            }
        }
    }
}
