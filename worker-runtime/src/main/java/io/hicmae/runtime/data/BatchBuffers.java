package io.hicmae.runtime.data;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * The reusable host memory of one batch: B clips' stored uint8 frames and int16 PCM side by side in two direct
 * buffers, which the engine reads without a copy on the CPU (or copies once to a GPU). A {@link Pool} holds a fixed
 * number of them, so a loader allocates its batch memory once instead of once per step.
 *
 * <p>Layout: frames (B, T, H, W, 3) as stored; PCM (B, S) int16 little-endian as stored (the engine reads it as
 * uint8 byte pairs: DJL 0.36's PyTorch engine has no int16 arrays).
 */
public final class BatchBuffers {

    private final ClipGeometry geometry;
    private final int clips;
    private final ByteBuffer frames;
    private final ByteBuffer pcm;
    private final Pool pool;

    private BatchBuffers(ClipGeometry geometry, int clips, Pool pool) {
        this.geometry = geometry;
        this.clips = clips;
        this.frames = ByteBuffer.allocateDirect(Math.multiplyExact(clips, geometry.frameBytes()));
        this.pcm = ByteBuffer.allocateDirect(Math.multiplyExact(clips, geometry.pcmBytes()))
                .order(ByteOrder.LITTLE_ENDIAN);
        this.pool = pool;
    }

    /** Buffers for {@code clips} clips outside any pool (released buffers are left to the garbage collector). */
    public static BatchBuffers allocate(ClipGeometry geometry, int clips) {
        return new BatchBuffers(geometry, clips, null);
    }

    /** B. */
    public int clips() {
        return clips;
    }

    public ClipGeometry geometry() {
        return geometry;
    }

    /** Copies clip {@code i}'s frames, (T, H, W, 3) uint8, into place. */
    public void putFrames(int i, byte[] clipFrames) {
        check(i);
        if (clipFrames.length != geometry.frameBytes()) {
            throw new IllegalArgumentException("clip " + i + ": frames hold " + clipFrames.length
                    + " bytes, expected " + geometry.frameBytes());
        }
        frames.put(i * geometry.frameBytes(), clipFrames);
    }

    /** Copies clip {@code i}'s S samples into place. */
    public void putPcm(int i, short[] samples) {
        check(i);
        if (samples.length != geometry.samples()) {
            throw new IllegalArgumentException("clip " + i + ": " + samples.length + " samples, expected "
                    + geometry.samples());
        }
        pcm.asShortBuffer().put(i * geometry.samples(), samples);
    }

    /** The frames of all B clips, position 0, limit at the end; a view sharing the memory. */
    public ByteBuffer frames() {
        return frames.duplicate().clear();
    }

    /** The PCM of all B clips (little-endian), position 0, limit at the end; a view sharing the memory. */
    public ByteBuffer pcm() {
        return pcm.duplicate().clear().order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Hands the buffers back to their pool (a no-op for buffers from {@link #allocate}). */
    void release() {
        if (pool != null) {
            pool.free.add(this);
        }
    }

    private void check(int i) {
        if (i < 0 || i >= clips) {
            throw new IndexOutOfBoundsException("clip " + i + " of a batch of " + clips);
        }
    }

    /** A fixed set of batch buffers, taken by a loader thread and handed back when the consumer is done. */
    public static final class Pool {
        private final BlockingQueue<BatchBuffers> free;

        /** Allocates {@code batches} buffers of {@code clips} clips each, all free. */
        public Pool(ClipGeometry geometry, int clips, int batches) {
            this.free = new ArrayBlockingQueue<>(batches);
            for (int i = 0; i < batches; i++) {
                free.add(new BatchBuffers(geometry, clips, this));
            }
        }

        /** Waits for free buffers; interruptible. */
        public BatchBuffers take() throws InterruptedException {
            return free.take();
        }

        /** Buffers free now. */
        public int available() {
            return free.size();
        }
    }
}
