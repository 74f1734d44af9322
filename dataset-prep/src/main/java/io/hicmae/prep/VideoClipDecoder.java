package io.hicmae.prep;

import io.hicmae.runtime.data.ClipSchema;
import static io.hicmae.runtime.data.ClipSchema.AUDIO_SAMPLE_RATE;
import static io.hicmae.runtime.data.ClipSchema.COLOR_CHANNELS;
import static io.hicmae.runtime.data.ClipSchema.CROP_LEFT;
import static io.hicmae.runtime.data.ClipSchema.CROP_SIZE;
import static io.hicmae.runtime.data.ClipSchema.CROP_TOP;
import static io.hicmae.runtime.data.ClipSchema.FRAMES_PER_CLIP;
import static io.hicmae.runtime.data.ClipSchema.SAMPLES_PER_CLIP;
import static io.hicmae.runtime.data.ClipSchema.SCALED_SIZE;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Decodes one local video into clips in a single forward pass (no seeking), holding only the frames sampled for
 * windows still open and the audio they need, never the whole video.
 *
 * <p>Per frame: FFmpeg scales to {@link ClipSchema#SCALED_SIZE} square RGB24 (swscale, bilinear), the display
 * rotation (display matrix, else the {@code rotate} tag) is applied, and the fixed region rows [0, 160) x columns
 * [32, 192) is kept. Which frames: see {@link ClipSampler}. Audio is resampled by FFmpeg to 16 kHz mono s16 and laid
 * out contiguously from the first audio frame's timestamp; a window's audio starts at the window's start, measured
 * from the first video frame.
 *
 * <p>Failures never throw: they come back as a {@link DecodeOutcome} with a {@link QuarantineReason}. Only a
 * machine problem (FFmpeg natives missing) throws. The deadline is checked against the injected clock after every
 * decoded frame, and holds inside FFmpeg's blocking calls (opening, probing, a read blocked in the file system:
 * {@link MediaInput}), so a file that decodes too slowly or hangs ends as {@link QuarantineReason#TIMEOUT}. A frame
 * larger than the pixel limit ends as {@link QuarantineReason#TOO_LARGE} before anything is decoded. FFmpeg is used
 * through its libraries directly ({@link MediaReader}), never libavdevice. Decoding uses one FFmpeg thread:
 * parallelism comes from running one decoder per core.
 */
public final class VideoClipDecoder {

    /** Default of the largest frame, in pixels, a video may have: 4096 x 4096 (a 4K frame has 8.3 million). */
    public static final long MAX_PIXELS_DEFAULT = 4096L * 4096;
    /** Open windows allowed while their audio has not arrived; past this the file is too badly interleaved. */
    static final int MAX_PENDING_WINDOWS = 32;
    /** Audio samples a window may lack at its ends (encoder priming and resampler delay) and get zeros for. */
    static final int AUDIO_EDGE_TOLERANCE = 1024;
    /** Audio buffered ahead of the video at most; later samples are ignored until the video catches up. */
    private static final int MAX_AUDIO_BUFFER = (MAX_PENDING_WINDOWS + 2) * SAMPLES_PER_CLIP;

    private static final int CROP_FRAME_BYTES = CROP_SIZE * CROP_SIZE * COLOR_CHANNELS;

    private final ClipSampler sampler;
    private final Duration deadline;
    private final Clock clock;
    private final long maxPixels;

    /** A decoder with the default frame size limit, {@link #MAX_PIXELS_DEFAULT}. */
    public VideoClipDecoder(ClipSampler sampler, Duration deadline, Clock clock) {
        this(sampler, deadline, clock, MAX_PIXELS_DEFAULT);
    }

    /**
     * @param sampler which windows and instants to take
     * @param deadline the longest one video may take to open and decode; it holds inside FFmpeg's blocking calls
     *     (measured on the real clock there) and is checked against {@code clock} after every decoded frame
     * @param clock the clock the per-frame deadline check is measured on
     * @param maxPixels the largest frame, in pixels, a video may have; larger ones are quarantined before decoding
     */
    public VideoClipDecoder(ClipSampler sampler, Duration deadline, Clock clock, long maxPixels) {
        if (deadline.isNegative() || deadline.isZero()) {
            throw new IllegalArgumentException(
                    "Invalid value " + deadline + " for configuration decode-timeout: must be positive");
        }
        if (maxPixels < (long) SCALED_SIZE * SCALED_SIZE / 4) {
            throw new IllegalArgumentException("Invalid value " + maxPixels + " for configuration max-pixels: must"
                    + " be at least " + (long) SCALED_SIZE * SCALED_SIZE / 4);
        }
        this.sampler = sampler;
        this.deadline = deadline;
        this.clock = clock;
        this.maxPixels = maxPixels;
    }

    /**
     * Decodes {@code file} and hands each complete clip to {@code sink} in window order.
     *
     * @param file a local file
     * @param source the file's path relative to the input root; names the clips and the quarantine row
     * @param sink receives the clips; on a quarantined outcome it must drop what it received
     * @return the number of clips, or why the file is quarantined
     */
    public DecodeOutcome decode(Path file, String source, Consumer<ClipRecord> sink) {
        return decode(file, source, sink, f -> FileChannel.open(f, StandardOpenOption.READ));
    }

    /** Opens a file's bytes for FFmpeg; tests substitute channels that fail or hang. */
    interface Opener {
        SeekableByteChannel open(Path file) throws IOException;
    }

    /** {@link #decode(Path, String, Consumer)} reading the file through {@code opener}. */
    DecodeOutcome decode(Path file, String source, Consumer<ClipRecord> sink, Opener opener) {
        long deadlineAt = clock.millis() + deadline.toMillis();
        try {
            if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                return DecodeOutcome.quarantined(
                        source, 0, QuarantineReason.NOT_A_FILE, "not a regular file: " + file);
            }
            if (Files.size(file) == 0) {
                return DecodeOutcome.quarantined(source, 0, QuarantineReason.UNREADABLE, "empty file: " + file);
            }
        } catch (IOException e) {
            return DecodeOutcome.quarantined(source, 0, QuarantineReason.UNREADABLE, file + ": " + e);
        }
        Decoding run = new Decoding(source, sink, deadlineAt);
        MediaReader reader;
        try {
            reader = new MediaReader(opener.open(file), file.getFileName().toString(),
                    deadline, maxPixels);
        } catch (MediaReader.Failure e) {
            return DecodeOutcome.quarantined(source, 0, e.reason, "FFmpeg cannot open " + file + ": " + e.getMessage());
        } catch (IOException e) {
            return DecodeOutcome.quarantined(source, 0, QuarantineReason.UNREADABLE, file + ": " + e);
        }
        try (reader) {
            return run.run(reader);
        } catch (MediaReader.Failure e) {
            return DecodeOutcome.quarantined(source, run.emitted, e.reason, file + ": " + e.getMessage());
        } catch (RuntimeException e) {
            return DecodeOutcome.quarantined(
                    source, run.emitted, QuarantineReason.DECODE_ERROR, file + ": " + e);
        }
    }

    /** The rotation, counter-clockwise in degrees (0, 90, 180 or 270), that turns decoded frames upright. */
    static int displayRotation(MediaReader reader) {
        double ccw = reader.displayMatrixRotation();
        if (ccw == 0 || Double.isNaN(ccw)) {
            String tag = reader.videoTag("rotate"); // clockwise, by convention of the tag
            ccw = tag == null ? 0 : -Double.parseDouble(tag.trim());
        }
        return Math.floorMod((int) Math.round(ccw / 90) * 90, 360);
    }

    /** One window being filled. */
    private static final class OpenWindow {
        final int index;
        final byte[] frames = new byte[ClipSchema.FRAME_BYTES];
        int assigned;
        boolean covered;

        OpenWindow(int index) {
            this.index = index;
        }
    }

    /** The state of one decode. Times are microseconds on the reader's timeline unless named relative. */
    private final class Decoding implements MediaReader.Sink {
        final String source;
        final Consumer<ClipRecord> sink;
        final long deadlineAt;
        final ArrayDeque<OpenWindow> open = new ArrayDeque<>();
        int rotation;
        double fps;
        int emitted;
        int nextWindow;
        int windowsWithoutAudio;

        long originUs = Long.MIN_VALUE; // timestamp of the first video frame; relative times count from it
        long lastRelUs = Long.MIN_VALUE;
        byte[] last = new byte[CROP_FRAME_BYTES]; // the latest frame, cropped

        // Audio on an absolute sample axis: sample i of the buffer is at audioBase + i.
        short[] audio = new short[SAMPLES_PER_CLIP];
        long audioBase = Long.MIN_VALUE;
        int audioLen;

        Decoding(String source, Consumer<ClipRecord> sink, long deadlineAt) {
            this.source = source;
            this.sink = sink;
            this.deadlineAt = deadlineAt;
        }

        DecodeOutcome run(MediaReader reader) throws MediaReader.Failure {
            if (!reader.hasVideo()) {
                throw new MediaReader.Failure(QuarantineReason.NO_VIDEO, "no video stream");
            }
            if (!reader.hasAudio()) {
                throw new MediaReader.Failure(QuarantineReason.NO_AUDIO, "no audio stream");
            }
            rotation = displayRotation(reader);
            fps = reader.frameRate();
            reader.startDecoding();
            while (reader.next(this)) {
                // frames arrive through video() and audio()
            }
            finish();
            if (emitted == 0) {
                throw new MediaReader.Failure(QuarantineReason.TOO_SHORT, describeLength());
            }
            return DecodeOutcome.ok(source, emitted);
        }

        /** Every decoded frame, of either stream, counts one look at the deadline. */
        private void checkDeadline() throws MediaReader.Failure {
            if (clock.millis() > deadlineAt) {
                throw new MediaReader.Failure(
                        QuarantineReason.TIMEOUT,
                        String.format(
                                Locale.ROOT,
                                "decoding took longer than the deadline of %s; stopped at %.2f s of video",
                                deadline,
                                Math.max(0, lastRelUs) / 1e6));
            }
        }

        @Override
        public void video(ByteBuffer rgb, int stride, long timestampUs) throws MediaReader.Failure {
            checkDeadline();
            onVideo(rgb, stride, timestampUs);
            emitReady(false);
        }

        @Override
        public void audio(ShortBuffer samples, long timestampUs) throws MediaReader.Failure {
            checkDeadline();
            onAudio(samples, timestampUs);
            emitReady(false);
        }

        private String describeLength() {
            String video = originUs == Long.MIN_VALUE
                    ? "no decodable video frame"
                    : String.format(Locale.ROOT, "video %.2f s", (lastRelUs + 1e6 / Math.max(fps, 1)) / 1e6);
            String audioPart = audioBase == Long.MIN_VALUE
                    ? "no decodable audio"
                    : String.format(Locale.ROOT, "audio to %.2f s", (audioBase + audioLen) / (double) AUDIO_SAMPLE_RATE);
            return String.format(
                    Locale.ROOT,
                    "%s, %s; one window needs %.2f s of both%s",
                    video,
                    audioPart,
                    ClipSchema.WINDOW_FRAMES / (double) ClipSchema.REFERENCE_FPS,
                    windowsWithoutAudio > 0 ? " (" + windowsWithoutAudio + " windows lacked audio)" : "");
        }

        private void onVideo(ByteBuffer image, int stride, long timestamp) throws MediaReader.Failure {
            if (originUs == Long.MIN_VALUE) {
                originUs = timestamp;
            } else if (timestamp - originUs <= lastRelUs) {
                return; // a repeated or backwards timestamp: the earlier frame stays on screen
            }
            long rel = timestamp - originUs;
            // Windows whose first instant this frame has passed are open from now on.
            while (sampler.windowStartMicros(nextWindow) + ClipSampler.TOLERANCE_US < rel) {
                open.add(new OpenWindow(nextWindow++));
                if (open.size() > MAX_PENDING_WINDOWS) {
                    throw new MediaReader.Failure(
                            QuarantineReason.DECODE_ERROR,
                            "more than " + MAX_PENDING_WINDOWS + " windows wait for audio; streams too badly interleaved");
                }
            }
            // Instants this frame has passed showed the previous frame.
            for (OpenWindow w : open) {
                assignUpTo(w, rel);
                if (rel + ClipSampler.TOLERANCE_US >= sampler.lastFrameMicros(w.index)) {
                    w.covered = true;
                }
            }
            crop(image, stride, last);
            lastRelUs = rel;
        }

        /** Gives the last frame to every instant of {@code w} before {@code rel} (exclusive, with tolerance). */
        private void assignUpTo(OpenWindow w, long rel) {
            while (w.assigned < FRAMES_PER_CLIP
                    && sampler.sampleMicros(w.index, w.assigned) + ClipSampler.TOLERANCE_US < rel) {
                System.arraycopy(last, 0, w.frames, w.assigned * CROP_FRAME_BYTES, CROP_FRAME_BYTES);
                w.assigned++;
            }
        }

        /** Copies the upright fixed region of a 224x224 RGB24 frame into {@code dst} as (H, W, C). */
        private void crop(ByteBuffer src, int stride, byte[] dst) {
            int rowBytes = CROP_SIZE * COLOR_CHANNELS;
            if (rotation == 0) {
                for (int y = 0; y < CROP_SIZE; y++) {
                    src.get((CROP_TOP + y) * stride + CROP_LEFT * COLOR_CHANNELS, dst, y * rowBytes, rowBytes);
                }
                return;
            }
            int max = SCALED_SIZE - 1;
            int o = 0;
            for (int y = CROP_TOP; y < CROP_TOP + CROP_SIZE; y++) {
                for (int x = CROP_LEFT; x < CROP_LEFT + CROP_SIZE; x++) {
                    int sy;
                    int sx;
                    switch (rotation) {
                        case 90 -> { // counter-clockwise: the stored right edge becomes the top
                            sy = x;
                            sx = max - y;
                        }
                        case 180 -> {
                            sy = max - y;
                            sx = max - x;
                        }
                        default -> { // 270 counter-clockwise = 90 clockwise
                            sy = max - x;
                            sx = y;
                        }
                    }
                    int s = sy * stride + sx * COLOR_CHANNELS;
                    dst[o++] = src.get(s);
                    dst[o++] = src.get(s + 1);
                    dst[o++] = src.get(s + 2);
                }
            }
        }

        private void onAudio(ShortBuffer samples, long timestamp) {
            int n = samples.remaining();
            if (audioBase == Long.MIN_VALUE) {
                audioBase = Math.floorDiv(timestamp * AUDIO_SAMPLE_RATE, 1_000_000L);
            }
            trimAudio();
            if (audioLen + n > MAX_AUDIO_BUFFER) {
                return; // far ahead of the video; windows that would need it end without audio
            }
            if (audioLen + n > audio.length) {
                audio = Arrays.copyOf(audio, Math.max(audio.length * 2, audioLen + n));
            }
            samples.get(samples.position(), audio, audioLen, n);
            audioLen += n;
        }

        /** Drops audio before the earliest window still to come. */
        private void trimAudio() {
            if (originUs == Long.MIN_VALUE || audioLen == 0) {
                return;
            }
            int first = open.isEmpty() ? nextWindow : open.peekFirst().index;
            long keepFrom = originSample() + sampler.audioStartSample(first) - AUDIO_EDGE_TOLERANCE;
            int drop = (int) Math.min(audioLen, Math.max(0, keepFrom - audioBase));
            if (drop > 0) {
                System.arraycopy(audio, drop, audio, 0, audioLen - drop);
                audioLen -= drop;
                audioBase += drop;
            }
        }

        private long originSample() {
            return Math.floorDiv(originUs * AUDIO_SAMPLE_RATE, 1_000_000L);
        }

        /** At end of stream: the last frame stays on screen for the remaining instants of covered windows. */
        private void finish() throws MediaReader.Failure {
            if (originUs == Long.MIN_VALUE) {
                throw new MediaReader.Failure(QuarantineReason.DECODE_ERROR, "the video stream has no decodable frame");
            }
            for (OpenWindow w : open) {
                if (w.covered) {
                    assignUpTo(w, Long.MAX_VALUE - ClipSampler.TOLERANCE_US);
                }
            }
            emitReady(true);
        }

        /** Emits open windows, in order, whose frames and audio are complete; at the end drops the rest. */
        private void emitReady(boolean atEnd) {
            while (!open.isEmpty()) {
                OpenWindow w = open.peekFirst();
                boolean framesDone = w.covered && w.assigned == FRAMES_PER_CLIP;
                if (audioBase == Long.MIN_VALUE) {
                    if (!atEnd) {
                        return; // no audio yet
                    }
                    windowsWithoutAudio += framesDone ? 1 : 0;
                    open.pollFirst();
                    continue;
                }
                long start = originSample() + sampler.audioStartSample(w.index);
                long head = Math.max(0, audioBase - start);
                long tail = Math.max(0, start + SAMPLES_PER_CLIP - (audioBase + audioLen));
                if (head > AUDIO_EDGE_TOLERANCE || (atEnd && head + tail > AUDIO_EDGE_TOLERANCE)) {
                    windowsWithoutAudio += framesDone ? 1 : 0;
                    open.pollFirst();
                } else if (framesDone && (tail == 0 || atEnd)) {
                    open.pollFirst();
                    sink.accept(toRecord(w, start));
                    emitted++;
                } else if (atEnd) {
                    open.pollFirst();
                } else {
                    return;
                }
            }
        }

        private ClipRecord toRecord(OpenWindow w, long startSample) {
            ByteBuffer pcm = ByteBuffer.allocate(ClipSchema.PCM_BYTES).order(java.nio.ByteOrder.LITTLE_ENDIAN);
            for (int i = 0; i < SAMPLES_PER_CLIP; i++) {
                long at = startSample + i - audioBase;
                pcm.putShort(at >= 0 && at < audioLen ? audio[(int) at] : 0);
            }
            return new ClipRecord(
                    ClipRecord.clipId(source, w.index),
                    source,
                    w.index,
                    sampler.windowStartMicros(w.index) / 1e6,
                    fps,
                    w.frames,
                    pcm.array());
        }
    }
}
