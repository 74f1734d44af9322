package io.hicmae.prep;

import static io.hicmae.runtime.data.ClipSchema.AUDIO_SAMPLE_RATE;
import static io.hicmae.runtime.data.ClipSchema.COLOR_CHANNELS;
import static io.hicmae.runtime.data.ClipSchema.SCALED_SIZE;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_AUDIO;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_VIDEO;
import static org.bytedeco.ffmpeg.global.avutil.AV_NOPTS_VALUE;

import java.nio.ByteBuffer;
import java.nio.ShortBuffer;
import java.nio.channels.SeekableByteChannel;
import java.time.Duration;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVCodecParameters;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVChannelLayout;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVDictionaryEntry;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avformat;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.ffmpeg.global.swresample;
import org.bytedeco.ffmpeg.global.swscale;
import org.bytedeco.ffmpeg.swresample.SwrContext;
import org.bytedeco.ffmpeg.swscale.SwsContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * Decodes the first video and the first audio stream of a file with FFmpeg's libraries directly (avformat, avcodec,
 * swscale, swresample): video frames scaled to {@link io.hicmae.runtime.data.ClipSchema#SCALED_SIZE} square RGB24
 * (bilinear), audio resampled to 16 kHz mono s16. Timestamps are microseconds of the stream's best-effort timestamp.
 * One FFmpeg thread per decoder: parallelism comes from running one reader per core.
 *
 * <p>Frame size is checked against a pixel limit before any frame is decoded, from the container's header, and the
 * decoders (the probing ones included) refuse larger frames by FFmpeg's {@code max_pixels}, so a hostile header that
 * grows later cannot make FFmpeg allocate beyond the limit either.
 */
final class MediaReader implements AutoCloseable {

    /** Why a reader gave up; the message names the FFmpeg call or the limit. */
    static final class Failure extends Exception {
        final QuarantineReason reason;

        Failure(QuarantineReason reason, String message) {
            super(message, null, false, false);
            this.reason = reason;
        }
    }

    /** Receives decoded, converted frames in decode order. */
    interface Sink {
        /** A {@code SCALED_SIZE x SCALED_SIZE} RGB24 frame, rows {@code stride} bytes apart. */
        void video(ByteBuffer rgb, int stride, long timestampUs) throws Failure;

        /** 16 kHz mono samples starting at {@code timestampUs} (the source frame's timestamp). */
        void audio(ShortBuffer samples, long timestampUs) throws Failure;
    }

    private static final int RGB_STRIDE = SCALED_SIZE * COLOR_CHANNELS;

    private final MediaInput input;
    private final long maxPixels;
    private AVFormatContext format;
    private AVStream videoStream;
    private AVStream audioStream;
    private AVCodecContext video;
    private AVCodecContext audio;
    private final AVPacket packet = avcodec.av_packet_alloc();
    private final AVFrame frame = avutil.av_frame_alloc();
    private SwsContext sws;
    private SwrContext swr;
    private BytePointer rgb;
    private PointerPointer<BytePointer> rgbPlanes;
    private IntPointer rgbStrides;
    private BytePointer pcm;
    private int pcmCapacity;
    private PointerPointer<BytePointer> pcmPlanes;
    private long framesDecoded;

    /**
     * Opens and probes the container; then {@link #hasVideo()} and the rest describe it.
     *
     * @param channel the file's bytes, closed with the reader
     * @param name the file name (a probing hint; also named in errors)
     * @param deadline the time left for opening and decoding the whole file
     * @param maxPixels the largest frame, in pixels, a video stream may have
     */
    MediaReader(SeekableByteChannel channel, String name, Duration deadline, long maxPixels) throws Failure {
        this.input = new MediaInput(channel, deadline);
        this.maxPixels = maxPixels;
        try {
            open(name);
        } catch (Failure | RuntimeException e) {
            close();
            throw e;
        }
    }

    private void open(String name) throws Failure {
        int ret = input.open(name);
        if (ret < 0) {
            throw failure(QuarantineReason.UNREADABLE, "avformat_open_input", ret);
        }
        format = input.format();
        pickStreams();
        checkFrameSize(); // from the header, before anything is decoded
        PointerPointer<AVDictionary> options = new PointerPointer<>(format.nb_streams());
        for (int i = 0; i < format.nb_streams(); i++) {
            AVDictionary d = new AVDictionary(null);
            avutil.av_dict_set(d, "max_pixels", Long.toString(maxPixels), 0);
            avutil.av_dict_set(d, "threads", "1", 0);
            options.put(i, d);
        }
        try {
            ret = avformat.avformat_find_stream_info(format, options);
        } finally {
            for (int i = 0; i < format.nb_streams(); i++) {
                avutil.av_dict_free(new AVDictionary(options.get(i)));
            }
            options.close();
        }
        if (ret < 0) {
            throw failure(QuarantineReason.UNREADABLE, "avformat_find_stream_info", ret);
        }
        pickStreams();
        checkFrameSize();
    }

    private void pickStreams() {
        videoStream = null;
        audioStream = null;
        for (int i = 0; i < format.nb_streams(); i++) {
            AVStream s = format.streams(i);
            int type = s.codecpar().codec_type();
            if (videoStream == null && type == AVMEDIA_TYPE_VIDEO) {
                videoStream = s;
            } else if (audioStream == null && type == AVMEDIA_TYPE_AUDIO) {
                audioStream = s;
            }
        }
    }

    private void checkFrameSize() throws Failure {
        for (int i = 0; i < format.nb_streams(); i++) {
            AVCodecParameters p = format.streams(i).codecpar();
            if (p.codec_type() == AVMEDIA_TYPE_VIDEO && (long) p.width() * p.height() > maxPixels) {
                throw new Failure(QuarantineReason.TOO_LARGE, "frame size " + p.width() + "x" + p.height() + " ("
                        + (long) p.width() * p.height() + " pixels) exceeds the limit of " + maxPixels
                        + " pixels; refused before decoding");
            }
        }
    }

    boolean hasVideo() {
        return videoStream != null;
    }

    boolean hasAudio() {
        return audioStream != null;
    }

    /** Frames decoded so far, of either stream. */
    long framesDecoded() {
        return framesDecoded;
    }

    /** The video's frame rate: the average, else the real base rate. */
    double frameRate() {
        AVRational r = videoStream.avg_frame_rate();
        if (r.num() == 0 || r.den() == 0) {
            r = videoStream.r_frame_rate();
        }
        return r.den() == 0 ? 0 : (double) r.num() / r.den();
    }

    /** The display matrix's rotation, counter-clockwise degrees, or NaN when there is none. */
    double displayMatrixRotation() {
        BytePointer matrix = avformat.av_stream_get_side_data(videoStream, avcodec.AV_PKT_DATA_DISPLAYMATRIX,
                (SizeTPointer) null);
        return matrix == null || matrix.isNull() ? Double.NaN : avutil.av_display_rotation_get(new IntPointer(matrix));
    }

    /** A metadata tag of the video stream, or null. */
    String videoTag(String key) {
        AVDictionaryEntry e = avutil.av_dict_get(videoStream.metadata(), key, null, 0);
        return e == null ? null : e.value().getString();
    }

    /** Opens the decoders; call once, after checking the streams. */
    void startDecoding() throws Failure {
        video = openDecoder(videoStream);
        audio = openDecoder(audioStream);
    }

    private AVCodecContext openDecoder(AVStream stream) throws Failure {
        AVCodec codec = avcodec.avcodec_find_decoder(stream.codecpar().codec_id());
        if (codec == null) {
            throw new Failure(QuarantineReason.DECODE_ERROR, "no decoder for codec id " + stream.codecpar().codec_id());
        }
        AVCodecContext c = avcodec.avcodec_alloc_context3(codec);
        int ret = avcodec.avcodec_parameters_to_context(c, stream.codecpar());
        if (ret >= 0) {
            c.pkt_timebase(stream.time_base());
            c.thread_count(1);
            c.max_pixels(maxPixels);
            ret = avcodec.avcodec_open2(c, codec, (AVDictionary) null);
        }
        if (ret < 0) {
            avcodec.avcodec_free_context(c);
            throw failure(QuarantineReason.DECODE_ERROR, "avcodec_open2", ret);
        }
        return c;
    }

    /**
     * Reads one packet and hands its decoded frames to {@code sink}; at the end of the file, drains the decoders.
     *
     * @return false once the file and the decoders are exhausted
     */
    boolean next(Sink sink) throws Failure {
        int ret = avformat.av_read_frame(format, packet);
        if (ret == AVERROR_EOF) {
            drain(video, sink);
            drain(audio, sink);
            return false;
        }
        if (ret < 0) {
            throw failure(QuarantineReason.DECODE_ERROR, "av_read_frame", ret);
        }
        try {
            int index = packet.stream_index();
            if (index == videoStream.index()) {
                decode(video, packet, sink);
            } else if (index == audioStream.index()) {
                decode(audio, packet, sink);
            }
        } finally {
            avcodec.av_packet_unref(packet);
        }
        return true;
    }

    private void drain(AVCodecContext c, Sink sink) throws Failure {
        decode(c, null, sink);
    }

    private void decode(AVCodecContext c, AVPacket p, Sink sink) throws Failure {
        int ret = avcodec.avcodec_send_packet(c, p);
        if (ret < 0 && ret != AVERROR_EOF && ret != avutil.AVERROR_EAGAIN()) {
            throw failure(QuarantineReason.DECODE_ERROR, "avcodec_send_packet", ret);
        }
        while (true) {
            ret = avcodec.avcodec_receive_frame(c, frame);
            if (ret == avutil.AVERROR_EAGAIN() || ret == AVERROR_EOF) {
                return;
            }
            if (ret < 0) {
                throw failure(QuarantineReason.DECODE_ERROR, "avcodec_receive_frame", ret);
            }
            framesDecoded++;
            try {
                if (c == video) {
                    sink.video(toRgb(), RGB_STRIDE, timestampUs(videoStream));
                } else {
                    ShortBuffer samples = toPcm();
                    if (samples.hasRemaining()) {
                        sink.audio(samples, timestampUs(audioStream));
                    }
                }
            } finally {
                avutil.av_frame_unref(frame);
            }
        }
    }

    private long timestampUs(AVStream stream) {
        long pts = frame.best_effort_timestamp();
        if (pts == AV_NOPTS_VALUE) {
            pts = frame.pts();
        }
        AVRational tb = stream.time_base();
        return 1_000_000L * pts * tb.num() / tb.den();
    }

    private ByteBuffer toRgb() throws Failure {
        if ((long) frame.width() * frame.height() > maxPixels) {
            throw new Failure(QuarantineReason.TOO_LARGE, "a decoded frame of " + frame.width() + "x"
                    + frame.height() + " exceeds the limit of " + maxPixels + " pixels");
        }
        sws = swscale.sws_getCachedContext(sws, frame.width(), frame.height(), frame.format(), SCALED_SIZE,
                SCALED_SIZE, avutil.AV_PIX_FMT_RGB24, swscale.SWS_BILINEAR, null, null, (DoublePointer) null);
        if (sws == null) {
            throw new Failure(QuarantineReason.DECODE_ERROR, "swscale cannot convert pixel format "
                    + frame.format() + " at " + frame.width() + "x" + frame.height());
        }
        if (rgb == null) {
            int bytes = RGB_STRIDE * SCALED_SIZE;
            rgb = new BytePointer(avutil.av_malloc(bytes)).capacity(bytes);
            rgbPlanes = new PointerPointer<>(4);
            rgbPlanes.put(0, rgb);
            rgbStrides = new IntPointer(4).put(0, RGB_STRIDE);
        }
        swscale.sws_scale(sws, frame.data(), frame.linesize(), 0, frame.height(), rgbPlanes, rgbStrides);
        return rgb.position(0).limit(rgb.capacity()).asByteBuffer();
    }

    private ShortBuffer toPcm() throws Failure {
        if (swr == null) {
            AVChannelLayout mono = new AVChannelLayout();
            avutil.av_channel_layout_default(mono, 1);
            swr = new SwrContext(null); // FFmpeg allocates it and JavaCPP stores the address
            int ret = swresample.swr_alloc_set_opts2(swr, mono, avutil.AV_SAMPLE_FMT_S16, AUDIO_SAMPLE_RATE,
                    frame.ch_layout(), frame.format(), frame.sample_rate(), 0, null);
            if (ret >= 0) {
                ret = swresample.swr_init(swr);
            }
            if (ret < 0) {
                throw failure(QuarantineReason.DECODE_ERROR, "swr_init", ret);
            }
        }
        int out = swresample.swr_get_out_samples(swr, frame.nb_samples());
        if (out > pcmCapacity) {
            if (pcm != null) {
                avutil.av_free(pcm);
            }
            pcmCapacity = Math.max(out, 4096);
            pcm = new BytePointer(avutil.av_malloc(pcmCapacity * 2L)).capacity(pcmCapacity * 2L);
            pcmPlanes = new PointerPointer<>(1);
            pcmPlanes.put(0, pcm);
        }
        int n = swresample.swr_convert(swr, pcmPlanes, pcmCapacity, frame.extended_data(), frame.nb_samples());
        if (n < 0) {
            throw failure(QuarantineReason.DECODE_ERROR, "swr_convert", n);
        }
        return pcm.position(0).limit(n * 2L).asByteBuffer().order(java.nio.ByteOrder.nativeOrder()).asShortBuffer();
    }

    private Failure failure(QuarantineReason reason, String call, int ret) {
        if (input.expired()) {
            return new Failure(QuarantineReason.TIMEOUT, call + " was stopped at the deadline");
        }
        if (input.readError() != null) {
            return new Failure(QuarantineReason.IO_ERROR, call + " failed reading the file: " + input.readError());
        }
        return new Failure(reason, call + " failed: " + errorString(ret));
    }

    static String errorString(int ret) {
        BytePointer buf = new BytePointer(256);
        avutil.av_strerror(ret, buf, 256);
        String s = buf.getString();
        buf.close();
        return s + " (" + ret + ")";
    }

    /** Whether the deadline stopped FFmpeg. */
    boolean expired() {
        return input.expired();
    }

    @Override
    public void close() {
        if (video != null) {
            avcodec.avcodec_free_context(video);
            video = null;
        }
        if (audio != null) {
            avcodec.avcodec_free_context(audio);
            audio = null;
        }
        if (sws != null) {
            swscale.sws_freeContext(sws);
            sws = null;
        }
        if (swr != null) {
            swresample.swr_free(swr);
            swr = null;
        }
        if (rgb != null) {
            avutil.av_free(rgb);
            rgb = null;
        }
        if (pcm != null) {
            avutil.av_free(pcm);
            pcm = null;
        }
        avcodec.av_packet_free(packet);
        avutil.av_frame_free(frame);
        input.close();
    }
}
