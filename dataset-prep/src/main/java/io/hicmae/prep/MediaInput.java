package io.hicmae.prep;

import static org.bytedeco.ffmpeg.global.avformat.AVSEEK_FORCE;
import static org.bytedeco.ffmpeg.global.avformat.AVSEEK_SIZE;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EXIT;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SeekableByteChannel;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVIOContext;
import org.bytedeco.ffmpeg.avformat.AVIOInterruptCB;
import org.bytedeco.ffmpeg.avformat.Read_packet_Pointer_BytePointer_int;
import org.bytedeco.ffmpeg.avformat.Seek_Pointer_long_int;
import org.bytedeco.ffmpeg.global.avformat;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * FFmpeg's demuxer reading a file through a Java channel, under a deadline that holds inside FFmpeg's blocking calls.
 *
 * <p>FFmpeg reads through this class's read and seek callbacks (custom I/O), so every byte it reads passes through
 * Java: a read blocked in the file system (a hung network mount) is ended at the deadline by closing the channel from
 * a watchdog thread, which makes the blocked read throw and the callback answer {@code AVERROR_EXIT}. FFmpeg's
 * interrupt callback ({@code AVIOInterruptCB}) answers "stop" from the deadline on, which ends the loops inside
 * {@code avformat_open_input}, {@code avformat_find_stream_info} and {@code av_read_frame} that do not read. After a
 * failed call {@link #expired()} tells a deadline from a broken file.
 */
final class MediaInput implements AutoCloseable {

    private static final int IO_BUFFER_BYTES = 1 << 16;
    /** avformat.h's AVFMT_FLAG_CUSTOM_IO (the presets do not map it): the caller owns {@code pb}. */
    private static final int AVFMT_FLAG_CUSTOM_IO = 0x0080;
    private static final int AVERROR_EIO = -5;

    /** Open inputs by the address of their opaque key: the callbacks are shared, one instance each. */
    private static final Map<Long, MediaInput> OPEN = new ConcurrentHashMap<>();
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "decode-deadline");
        t.setDaemon(true);
        return t;
    });

    /**
     * JavaCPP callbacks come from a small fixed pool of native thunks, so there is one instance of each, created
     * after the natives are loaded, and each call finds its input by the opaque pointer.
     */
    private static final class Callbacks {
        static final ReadCallback READ = new ReadCallback();
        static final SeekCallback SEEK = new SeekCallback();
        static final InterruptCallback INTERRUPT = new InterruptCallback();
    }

    private final SeekableByteChannel channel;
    private final LongPointer key = new LongPointer(1);
    private final ScheduledFuture<?> watchdog;
    private volatile boolean expired;
    private volatile IOException readError;
    private AVFormatContext format;
    private AVIOContext io;

    /**
     * Registers the callbacks and starts the deadline; {@link #open} then reads the header.
     *
     * @param channel the file's bytes; closed by {@link #close} (or at the deadline)
     * @param deadline the time left for everything this input does
     */
    MediaInput(SeekableByteChannel channel, Duration deadline) {
        FfmpegNatives.ensureLoaded();
        this.channel = channel;
        OPEN.put(key.address(), this);
        watchdog = WATCHDOG.schedule(this::expire, Math.max(0, deadline.toNanos()), TimeUnit.NANOSECONDS);
    }

    /**
     * Opens the container and reads its header ({@code avformat_open_input}).
     *
     * @param name the file's name, a hint for probing the format (no protocol is opened)
     * @return 0, or FFmpeg's negative error code
     */
    int open(String name) {
        format = avformat.avformat_alloc_context();
        BytePointer buffer = new BytePointer(avutil.av_malloc(IO_BUFFER_BYTES)).capacity(IO_BUFFER_BYTES);
        io = avformat.avio_alloc_context(buffer, IO_BUFFER_BYTES, 0, key, Callbacks.READ, null, Callbacks.SEEK);
        format.pb(io);
        format.flags(format.flags() | AVFMT_FLAG_CUSTOM_IO);
        AVIOInterruptCB interrupt = format.interrupt_callback();
        interrupt.callback(Callbacks.INTERRUPT);
        interrupt.opaque(key);
        int ret = avformat.avformat_open_input(format, name, null, null);
        if (ret < 0) {
            format = null; // avformat_open_input frees the context when it fails
        }
        return ret;
    }

    /** The opened container; valid after a successful {@link #open}. */
    AVFormatContext format() {
        return format;
    }

    /** Whether the deadline has passed: a failed call is then a timeout, not a broken file. */
    boolean expired() {
        return expired;
    }

    /** The exception behind the last failed read, if any: the file system failed, not FFmpeg. */
    IOException readError() {
        return readError;
    }

    private void expire() {
        expired = true;
        try {
            channel.close(); // ends a read blocked in the file system
        } catch (IOException e) {
            readError = e;
        }
    }

    private int read(BytePointer buffer, int size) {
        if (expired) {
            return AVERROR_EXIT;
        }
        try {
            ByteBuffer dst = buffer.position(0).capacity(size).limit(size).asByteBuffer();
            int n = 0;
            while (n == 0) {
                n = channel.read(dst);
            }
            return n < 0 ? AVERROR_EOF : n;
        } catch (ClosedChannelException e) {
            return AVERROR_EXIT; // closed at the deadline
        } catch (IOException e) {
            readError = e;
            return AVERROR_EIO;
        }
    }

    private long seek(long offset, int whence) {
        try {
            if ((whence & AVSEEK_SIZE) != 0) {
                return channel.size();
            }
            long target = switch (whence & ~AVSEEK_FORCE) {
                case 0 -> offset; // SEEK_SET
                case 1 -> channel.position() + offset; // SEEK_CUR
                case 2 -> channel.size() + offset; // SEEK_END
                default -> -1;
            };
            if (target < 0) {
                return AVERROR_EIO;
            }
            channel.position(target);
            return target;
        } catch (IOException e) {
            readError = e;
            return AVERROR_EIO;
        }
    }

    @Override
    public void close() {
        watchdog.cancel(false);
        if (format != null) {
            avformat.avformat_close_input(format);
            format = null;
        }
        if (io != null) {
            avutil.av_free(io.buffer()); // FFmpeg may have replaced the buffer; free the current one
            io.buffer(null);
            avformat.avio_context_free(io);
            io = null;
        }
        OPEN.remove(key.address());
        key.close();
        try {
            channel.close();
        } catch (IOException e) {
            // the file was only read: nothing is lost
        }
    }

    private static final class ReadCallback extends Read_packet_Pointer_BytePointer_int {
        @Override
        public int call(Pointer opaque, BytePointer buffer, int size) {
            MediaInput in = OPEN.get(opaque.address());
            return in == null ? AVERROR_EXIT : in.read(buffer, size);
        }
    }

    private static final class SeekCallback extends Seek_Pointer_long_int {
        @Override
        public long call(Pointer opaque, long offset, int whence) {
            MediaInput in = OPEN.get(opaque.address());
            return in == null ? AVERROR_EXIT : in.seek(offset, whence);
        }
    }

    private static final class InterruptCallback extends AVIOInterruptCB.Callback_Pointer {
        @Override
        public int call(Pointer opaque) {
            MediaInput in = OPEN.get(opaque.address());
            return in == null || in.expired ? 1 : 0;
        }
    }
}
