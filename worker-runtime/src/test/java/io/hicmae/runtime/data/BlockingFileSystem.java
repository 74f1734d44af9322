package io.hicmae.runtime.data;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FSDataInputStream;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RawLocalFileSystem;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.util.concurrent.CountDownLatch;

/**
 * The local file system under the scheme {@code blocking:}, whose {@code open} can be made to hang until released, as
 * a stalled remote read would. For loader tests; one armed test at a time.
 */
public final class BlockingFileSystem extends RawLocalFileSystem {

    static final String SCHEME = "blocking";

    private static volatile CountDownLatch release;
    private static volatile CountDownLatch entered;

    /** A Hadoop configuration that maps {@code blocking:} to this class (uncached). */
    static Configuration configuration() {
        Configuration conf = new Configuration();
        conf.set("fs." + SCHEME + ".impl", BlockingFileSystem.class.getName());
        conf.setBoolean("fs." + SCHEME + ".impl.disable.cache", true);
        return conf;
    }

    /** From now on every open blocks until {@link #disarm()} or an interrupt; returns a latch opened by the first. */
    static CountDownLatch arm() {
        entered = new CountDownLatch(1);
        release = new CountDownLatch(1);
        return entered;
    }

    static void disarm() {
        CountDownLatch r = release;
        release = null;
        if (r != null) {
            r.countDown();
        }
    }

    @Override
    public URI getUri() {
        return URI.create(SCHEME + ":///");
    }

    @Override
    public String getScheme() {
        return SCHEME;
    }

    @Override
    public FSDataInputStream open(Path f, int bufferSize) throws IOException {
        CountDownLatch r = release;
        if (r != null) {
            entered.countDown();
            try {
                r.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted opening " + f);
            }
        }
        return super.open(f, bufferSize);
    }
}
