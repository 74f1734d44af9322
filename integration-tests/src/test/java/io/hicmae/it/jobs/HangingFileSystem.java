package io.hicmae.it.jobs;

import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.FSInputStream;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

/**
 * The local file system under the scheme {@code hang:}, where opening a file whose name contains {@code hang} gives a
 * stream whose first read blocks, as a read from a storage server that stopped answering would. The read ends only
 * when the stream is closed, the reading thread is interrupted, or {@link #MAX_HANG_MINUTES} pass. Everything else
 * (listing, status, other files) is the local file system's.
 *
 * <p>Register it with {@code spark.hadoop.fs.hang.impl=io.hicmae.it.jobs.HangingFileSystem} and ship this module's
 * test jar with {@code --jars}. It prints {@code HANG ...} lines to stderr (the executor's log) when a read starts
 * blocking and when it is released, so a test can tell the hang really happened where it meant it to.
 */
public final class HangingFileSystem extends RawLocalFileSystem {
    /** The longest a read blocks: a bound, so that even a leaked stream ends. */
    static final long MAX_HANG_MINUTES = 10;
    private static final URI ROOT = URI.create("hang:///");

    @Override
    public URI getUri() {
        return ROOT;
    }

    @Override
    public String getScheme() {
        return "hang";
    }

    /**
     * The local status as a plain one: the local file system's own status type reads permissions through
     * {@code new File(URI)}, which takes only {@code file:} URIs.
     */
    @Override
    public FileStatus getFileStatus(Path f) throws IOException {
        FileStatus s = super.getFileStatus(f);
        return new FileStatus(s.getLen(), s.isDirectory(), s.getReplication(), s.getBlockSize(),
                s.getModificationTime(), makeQualified(f));
    }

    @Override
    public FileStatus[] listStatus(Path f) throws IOException {
        FileStatus[] local = super.listStatus(f);
        FileStatus[] out = new FileStatus[local.length];
        for (int i = 0; i < local.length; i++) {
            out[i] = getFileStatus(local[i].getPath());
        }
        return out;
    }

    @Override
    public FSDataInputStream open(Path f, int bufferSize) throws IOException {
        if (!f.getName().contains("hang")) {
            return super.open(f, bufferSize);
        }
        if (!exists(f)) {
            throw new FileNotFoundException(f.toString());
        }
        return new FSDataInputStream(new BlockingStream(f));
    }

    /** A stream whose reads block until it is closed or the reader is interrupted. */
    private static final class BlockingStream extends FSInputStream {
        private final Path path;
        private final CountDownLatch closed = new CountDownLatch(1);

        BlockingStream(Path path) {
            this.path = path;
        }

        @Override
        public int read() throws IOException {
            long start = System.nanoTime();
            System.err.println("HANG read of " + path + " blocks in thread " + Thread.currentThread().getName());
            try {
                boolean byClose = closed.await(MAX_HANG_MINUTES, TimeUnit.MINUTES);
                System.err.println("HANG read of " + path + " released after "
                        + (System.nanoTime() - start) / 1_000_000 + " ms by " + (byClose ? "close" : "the bound"));
                throw new IOException("stream of " + path + " closed while a read was blocked");
            } catch (InterruptedException e) {
                System.err.println("HANG read of " + path + " released after "
                        + (System.nanoTime() - start) / 1_000_000 + " ms by an interrupt");
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("read of " + path + " interrupted");
            }
        }

        @Override
        public void close() {
            closed.countDown();
        }

        @Override
        public void seek(long pos) throws IOException {
            throw new IOException("seek is not supported on " + path);
        }

        @Override
        public long getPos() {
            return 0;
        }

        @Override
        public boolean seekToNewSource(long targetPos) {
            return false;
        }
    }
}
