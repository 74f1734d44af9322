package io.hicmae.driver.prep;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Copies remote videos to an executor's local disk, streaming (never into memory) and within a deadline. Copies run
 * on daemon threads: one that hangs in a read is interrupted and its stream closed at the deadline (which ends a read
 * blocked on a socket), and a thread that still hangs is no longer waited for.
 */
final class RemoteCopy implements AutoCloseable {

    private static final Logger LOG = LogManager.getLogger(RemoteCopy.class);

    /** The largest remote video copied to an executor: 4 GiB (a VoxCeleb2 video is a few MB). */
    static final long MAX_BYTES = 4L << 30;

    /** A remote file larger than the copy limit. */
    static final class TooLarge extends IOException {
        TooLarge(String message) {
            super(message);
        }
    }

    private final Configuration conf;
    private final Duration deadline;
    private final long maxBytes;
    private final ExecutorService copier = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "prep-copy");
        t.setDaemon(true);
        return t;
    });

    /** @param maxBytes the largest file copied; a larger one fails the copy with {@link TooLarge} */
    RemoteCopy(Configuration conf, Duration deadline, long maxBytes) {
        this.conf = conf;
        this.deadline = deadline;
        this.maxBytes = maxBytes;
    }

    /**
     * Copies {@code uri} into a new file under {@code dir}.
     *
     * @return the local copy, or null when the deadline passed (nothing is left behind)
     * @throws TooLarge when the file is larger than the copy limit (by its length, or by the bytes it gave)
     * @throws IOException when the remote file cannot be read or the local one written
     */
    java.nio.file.Path fetch(String uri, java.nio.file.Path dir) throws IOException {
        java.nio.file.Path local = Files.createTempFile(dir, "video-", ".bin");
        AtomicReference<InputStream> stream = new AtomicReference<>();
        Future<?> copy = copier.submit(() -> {
            Path remote = new Path(URI.create(uri));
            org.apache.hadoop.fs.FileSystem fs = remote.getFileSystem(conf);
            long length = fs.getFileStatus(remote).getLen();
            if (length > maxBytes) {
                throw new TooLarge(uri + " is " + length + " bytes, over the copy limit of " + maxBytes);
            }
            try (InputStream in = fs.open(remote); OutputStream out = Files.newOutputStream(local)) {
                stream.set(in);
                byte[] buffer = new byte[1 << 16];
                long copied = 0;
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    copied += n;
                    if (copied > maxBytes) { // the length lied, or the file grows
                        throw new TooLarge(uri + " gave more than the copy limit of " + maxBytes + " bytes");
                    }
                    out.write(buffer, 0, n);
                }
            }
            return null;
        });
        try {
            copy.get(deadline.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            copy.cancel(true);
            closeQuietly(stream.get(), uri);
            Files.deleteIfExists(local);
            return null;
        } catch (InterruptedException e) {
            copy.cancel(true);
            closeQuietly(stream.get(), uri);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while copying " + uri + " to the executor");
        } catch (ExecutionException e) {
            Files.deleteIfExists(local);
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
        return local;
    }

    private static void closeQuietly(InputStream in, String uri) {
        if (in == null) {
            return;
        }
        try {
            in.close();
        } catch (IOException | RuntimeException e) {
            LOG.warn("Closing the stream of abandoned copy {} failed: {}", uri, e.toString());
        }
    }

    @Override
    public void close() {
        copier.shutdownNow();
    }
}
