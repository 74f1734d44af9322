package io.hicmae.prep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.prep.SyntheticVideoGenerator.Spec;
import io.hicmae.runtime.data.ClipSchema;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Poison videos: a read that hangs inside FFmpeg ends at the deadline; an oversized frame is refused unread. */
class DecodeLimitsTest {

    @TempDir static Path dir;
    static Path good;

    @BeforeAll
    static void writeVideo() throws IOException {
        good = dir.resolve("good.mp4");
        new SyntheticVideoGenerator(5).write(good, 0, Spec.talkingFace(6));
    }

    /** The file's bytes up to {@code stallAt}; then a read blocks until the channel is closed, as a hung mount. */
    private static final class StallingChannel implements SeekableByteChannel {
        final FileChannel file;
        final long stallAt;
        final CountDownLatch closed = new CountDownLatch(1);
        volatile boolean stalled;

        StallingChannel(Path p, long stallAt) throws IOException {
            this.file = FileChannel.open(p, StandardOpenOption.READ);
            this.stallAt = stallAt;
        }

        @Override
        public int read(ByteBuffer dst) throws IOException {
            if (file.position() >= stallAt) {
                stalled = true;
                try {
                    if (!closed.await(60, TimeUnit.SECONDS)) {
                        throw new IOException("test guard: nobody closed the stalled channel in 60 s");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new AsynchronousCloseException();
            }
            ByteBuffer slice = dst.duplicate();
            slice.limit(slice.position() + (int) Math.min(dst.remaining(), stallAt - file.position()));
            int n = file.read(slice);
            dst.position(slice.position());
            return n;
        }

        @Override
        public void close() throws IOException {
            closed.countDown();
            file.close();
        }

        @Override
        public boolean isOpen() {
            return file.isOpen();
        }

        @Override
        public long position() throws IOException {
            return file.position();
        }

        @Override
        public SeekableByteChannel position(long p) throws IOException {
            file.position(p);
            return this;
        }

        @Override
        public long size() throws IOException {
            return file.size();
        }

        @Override
        public int write(ByteBuffer src) {
            throw new UnsupportedOperationException();
        }

        @Override
        public SeekableByteChannel truncate(long size) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void aDecodeThatHangsInABlockingReadIsQuarantinedAtTheDeadline() throws IOException {
        long half = java.nio.file.Files.size(good) / 2;
        List<StallingChannel> opened = new ArrayList<>();
        VideoClipDecoder decoder = new VideoClipDecoder(ClipSampler.NON_OVERLAPPING, Duration.ofSeconds(2),
                Clock.systemUTC());
        long start = System.nanoTime();
        DecodeOutcome o = decoder.decode(good, "good.mp4", c -> {}, f -> {
            StallingChannel c = new StallingChannel(f, half);
            opened.add(c);
            return c;
        });
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(opened.get(0).stalled, "the read never stalled: the test did not test the hang");
        assertTrue(o.isQuarantined(), "a hung read was not quarantined");
        assertEquals(QuarantineReason.TIMEOUT, o.quarantine().reason(), o.quarantine().detail());
        assertTrue(o.quarantine().detail().contains("deadline"), o.quarantine().detail());
        assertTrue(seconds >= 1.5 && seconds < 20, "ended after " + seconds + " s, the deadline is 2 s");
    }

    @Test
    void aFrameOverThePixelLimitIsQuarantinedBeforeDecoding() {
        long limit = (long) ClipSchema.SCALED_SIZE * ClipSchema.SCALED_SIZE / 4;
        DecodeOutcome o = new VideoClipDecoder(ClipSampler.NON_OVERLAPPING, Duration.ofSeconds(60), Clock.systemUTC(),
                limit).decode(good, "good.mp4", c -> {
                    throw new AssertionError("a clip came out of an oversized video");
                });
        assertEquals(QuarantineReason.TOO_LARGE, o.quarantine().reason(), o.quarantine().detail());
        assertTrue(o.quarantine().detail().contains("224x224 (50176 pixels) exceeds the limit of 12544 pixels;"
                + " refused before decoding"), o.quarantine().detail());
        // The same file under the default limit decodes.
        DecodeOutcome ok = new VideoClipDecoder(ClipSampler.NON_OVERLAPPING, Duration.ofSeconds(60),
                Clock.systemUTC()).decode(good, "good.mp4", c -> {});
        assertEquals(2, ok.clips(), String.valueOf(ok.quarantine()));
    }
}
