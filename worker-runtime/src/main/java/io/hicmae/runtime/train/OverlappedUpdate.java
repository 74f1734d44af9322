package io.hicmae.runtime.train;

import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.allreduce.AllReduceException;
import io.hicmae.runtime.allreduce.RingAllReduce;
import io.hicmae.runtime.optim.AdamW;

import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One step's post-reduce half overlapped with the bucketed all-reduce of the gradient buffer, keeping the one
 * post-reduce order (../shared/wave-2.md). As each bucket is reduced (on the ring's callback thread, while later
 * buckets are on the wire) its squares join the global norm's partial sums, in the order of one
 * {@link GradientBuffer#norm()} pass, so the norm and the finite check come out bit-identical; and, speculatively,
 * the bucket's parameters and moments are saved aside and the fused AdamW update runs on it at the step's lr and
 * the gradient factor of an unclipped step (1, or the fp16 unscale). After the last bucket, {@link #finish} takes
 * the step's global decisions on the complete norm ({@link AbstractTrainer#finishStep}'s order): an applied,
 * unclipped step keeps the updates; a non-finite, overflowed or clipped step puts the saved values back and runs as
 * without overlap. Either way parameters, moments and counts end bit-identical to the step without overlap. The
 * trainer does not speculate in the step after a clipped or skipped one (only the norm is overlapped then).
 *
 * <p>Use: {@link #reduce} (instead of the plain all-reduce of the gradient bytes), or {@link #reduceDuringBackward}
 * (instead of the backward pass and the all-reduce), then {@link #finish}; between the two the parameters may hold
 * uncommitted values, so nothing else may read them.
 */
public final class OverlappedUpdate implements RingAllReduce.BucketListener {

    private final AbstractTrainer<?> trainer;
    private final GradientBuffer gradients;
    private final int[] ends;
    private final AdamW optimizer;
    private final AdamW.Snapshot snapshot;
    private final double lr;
    private final double factor;
    private final double[] lanes = new double[GradientBuffer.NORM_LANES];
    private AdamW.Update update;
    /** Buckets reduced so far; the end of the saved (and possibly updated) range. */
    private int reducedBuckets;
    private int savedTo;
    private boolean takenBack;

    OverlappedUpdate(AbstractTrainer<?> trainer, GradientBuffer gradients, int[] ends, AdamW optimizer,
            AdamW.Snapshot snapshot, double lr, double factor) {
        this.trainer = trainer;
        this.gradients = gradients;
        this.ends = ends;
        this.optimizer = optimizer;
        this.snapshot = snapshot;
        this.lr = lr;
        this.factor = factor;
    }

    /** The buckets' float ends (every rank computes the same ones from the same policy and model). */
    public int[] bucketEnds() {
        return ends.clone();
    }

    /** Whether this step updates buckets as they arrive (false after a clipped or skipped step). */
    public boolean speculative() {
        return snapshot != null;
    }

    /**
     * The bucketed all-reduce of the gradient buffer with this update in its callbacks. On failure, whatever the
     * callbacks updated is put back before the exception propagates.
     */
    public void reduce(RingAllReduce ring, long tag) throws AllReduceException {
        try {
            ring.allReduceMean(gradients.bytes(), tag, ends, this);
        } catch (AllReduceException | RuntimeException | Error e) {
            takeBack();
            throw e;
        }
    }

    /**
     * {@link #reduce} beside the backward pass: {@code backward} runs on this thread and writes the gradient buffer
     * front to back while the all-reduce, on the trainer's reduce thread, sends each bucket once its floats are
     * written (DDP's overlap of communication with the backward pass). Returns once both are done. When the backward
     * pass fails, the all-reduce fails at its next unwritten bucket (closing the ring, so the neighbours fail at once),
     * the updates are put back and the backward pass's exception propagates; when the all-reduce fails, the backward
     * pass still runs to its end first.
     *
     * @throws AllReduceException as {@link #reduce}, or when a bucket's floats are not written within the ring's
     *     io-timeout
     */
    public void reduceDuringBackward(RingAllReduce ring, long tag, PendingBackward backward)
            throws AllReduceException {
        WrittenFloats written = new WrittenFloats(ring.ioTimeout());
        Future<?> reducing = trainer.reducer().submit(() -> {
            ring.allReduceMean(gradients.bytes(), tag, ends, this, written);
            return null;
        });
        try {
            backward.run(written::publish);
        } catch (RuntimeException | Error e) {
            written.fail(e);
            try {
                reducing.get(ring.ioTimeout().toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException | TimeoutException | CancellationException ignored) {
                // the backward pass's failure is the one to report
            } catch (InterruptedException ignored) {
                Thread.currentThread().interrupt(); // still the backward pass's failure to report
            }
            takeBack();
            throw e;
        }
        try {
            reducing.get();
        } catch (ExecutionException e) {
            takeBack();
            Throwable c = e.getCause();
            if (c instanceof AllReduceException a) {
                throw a;
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            if (c instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(c);
        } catch (InterruptedException e) {
            reducing.cancel(true); // interrupts the ring's wait, which fails and closes the ring
            takeBack();
            Thread.currentThread().interrupt();
            throw new AllReduceException("interrupted during the gradient all-reduce");
        }
    }

    /** Synchronized with {@link #takeBack}: a failed ring may stop waiting for a callback that still runs. */
    @Override
    public synchronized void reduced(int bucket, int from, int to) {
        if (takenBack) {
            return; // the all-reduce failed and the updates were put back: change nothing more
        }
        if (bucket != reducedBuckets) {
            throw new IllegalStateException("bucket " + bucket + " reduced out of order; expected " + reducedBuckets);
        }
        gradients.addSquares(lanes, from, to);
        reducedBuckets++;
        // Once the partial norm is not finite the step will be skipped: updating more buckets would be wasted work.
        if (snapshot != null && Double.isFinite(GradientBuffer.norm(lanes))) {
            if (update == null) {
                update = optimizer.begin(lr, factor);
            }
            snapshot.save(from, to);
            savedTo = to;
            update.apply(gradients.buffer(), from, to);
        }
    }

    /**
     * After {@link #reduce} (and on every rank): the global decisions and the update, as
     * {@link AbstractTrainer#finishStep} takes them.
     *
     * @throws NonFiniteGradientsException when this is one non-finite step in a row more than the policy allows
     */
    public synchronized StepOutcome finish(NDManager stepManager) {
        if (reducedBuckets != ends.length) {
            throw new IllegalStateException("finish after " + reducedBuckets + " of " + ends.length
                    + " buckets were reduced");
        }
        return trainer.settle(stepManager, GradientBuffer.norm(lanes), this);
    }

    /** After {@link #finish}: whether the updates made while the buckets arrived stood (false: taken back or none). */
    public synchronized boolean kept() {
        return update != null && !takenBack;
    }

    /** Whether every bucket was updated at {@code lr} and the gradient factor {@code stepFactor}, not taken back. */
    synchronized boolean updatedAll(double stepLr, double stepFactor) {
        return update != null && !takenBack && savedTo == gradients.size() && stepLr == lr && stepFactor == factor;
    }

    /** Puts back the saved values of every updated bucket and the optimiser's step count; idempotent. */
    synchronized void takeBack() {
        if (takenBack) {
            return;
        }
        takenBack = true;
        if (update != null) {
            snapshot.restore(0, savedTo);
            optimizer.undoBegin();
        }
    }
}
