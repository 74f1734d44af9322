package io.hicmae.driver.prep;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.StandardCopyOption;
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

    private final Configuration conf;
    private final Duration deadline;
    private final ExecutorService copier = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "prep-copy");
        t.setDaemon(true);
        return t;
    });

    RemoteCopy(Configuration conf, Duration deadline) {
        this.conf = conf;
        this.deadline = deadline;
    }

    /**
     * Copies {@code uri} into a new file under {@code dir}.
     *
     * @return the local copy, or null when the deadline passed (nothing is left behind)
     * @throws IOException when the remote file cannot be read or the local one written
     */
    java.nio.file.Path fetch(String uri, java.nio.file.Path dir) throws IOException {
        java.nio.file.Path local = Files.createTempFile(dir, "video-", ".bin");
        AtomicReference<InputStream> stream = new AtomicReference<>();
        Future<?> copy = copier.submit(() -> {
            Path remote = new Path(URI.create(uri));
            try (InputStream in = remote.getFileSystem(conf).open(remote)) {
                stream.set(in);
                Files.copy(in, local, StandardCopyOption.REPLACE_EXISTING);
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
