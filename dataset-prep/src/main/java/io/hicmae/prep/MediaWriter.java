package io.hicmae.prep;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ShortBuffer;
import java.nio.file.Path;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVIOContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVAudioFifo;
import org.bytedeco.ffmpeg.avutil.AVChannelLayout;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
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

/**
 * Writes an mp4 file with FFmpeg's libraries directly (avformat, avcodec, swscale, swresample): optional H.264 video
 * from RGB24 frames and optional AAC audio from mono s16 samples, one FFmpeg thread per encoder.
 */
final class MediaWriter implements AutoCloseable {

    /**
     * What to write.
     *
     * @param width frame width, or 0 for no video
     * @param height frame height
     * @param fps frame rate
     * @param videoCodec FFmpeg encoder name for video
     * @param videoBitrate bits per second
     * @param gop frames between key frames
     * @param rotation display rotation, counter-clockwise degrees, stored in the display matrix (0: none)
     * @param sampleRate audio sample rate, or 0 for no audio
     * @param audioBitrate bits per second
     */
    record Format(int width, int height, double fps, String videoCodec, long videoBitrate, int gop, int rotation,
            int sampleRate, long audioBitrate) {}

    private final Path file;
    private final AVFormatContext out;
    private final AVPacket packet = avcodec.av_packet_alloc();
    private AVCodecContext video;
    private AVStream videoStream;
    private AVFrame yuv;
    private SwsContext sws;
    private long videoPts;
    private AVCodecContext audio;
    private AVStream audioStream;
    private AVFrame audioFrame;
    private SwrContext swr;
    private AVAudioFifo fifo;
    private long audioPts;
    private boolean headerWritten;

    /** Opens {@code file} for writing and writes the container header. */
    MediaWriter(Path file, Format f) throws IOException {
        FfmpegNatives.ensureLoaded();
        this.file = file;
        out = new AVFormatContext(null);
        check(avformat.avformat_alloc_output_context2(out, null, "mp4", (String) null),
                "avformat_alloc_output_context2");
        try {
            if (f.width() > 0) {
                openVideo(f);
            }
            if (f.sampleRate() > 0) {
                openAudio(f);
            }
            AVIOContext pb = new AVIOContext(null);
            // "file:" keeps FFmpeg from reading a protocol out of names such as "a:b.mp4".
            check(avformat.avio_open(pb, "file:" + file.toAbsolutePath(), avformat.AVIO_FLAG_WRITE), "avio_open");
            out.pb(pb);
            check(avformat.avformat_write_header(out, (AVDictionary) null), "avformat_write_header");
            headerWritten = true;
        } catch (IOException | RuntimeException e) {
            close();
            throw e;
        }
    }

    private AVCodecContext openEncoder(AVCodec codec, String name) throws IOException {
        if (codec == null) {
            throw new IOException("FFmpeg has no encoder " + name);
        }
        AVCodecContext c = avcodec.avcodec_alloc_context3(codec);
        c.thread_count(1);
        if ((out.oformat().flags() & avformat.AVFMT_GLOBALHEADER) != 0) {
            c.flags(c.flags() | avcodec.AV_CODEC_FLAG_GLOBAL_HEADER);
        }
        return c;
    }

    private AVStream addStream(AVCodecContext c, AVCodec codec, String name) throws IOException {
        check(avcodec.avcodec_open2(c, codec, (AVDictionary) null), "avcodec_open2 " + name);
        AVStream s = avformat.avformat_new_stream(out, null);
        check(avcodec.avcodec_parameters_from_context(s.codecpar(), c), "avcodec_parameters_from_context");
        s.time_base(c.time_base());
        return s;
    }

    private void openVideo(Format f) throws IOException {
        AVCodec codec = avcodec.avcodec_find_encoder_by_name(f.videoCodec());
        video = openEncoder(codec, f.videoCodec());
        AVRational rate = avutil.av_d2q(f.fps(), 1001000);
        video.width(f.width());
        video.height(f.height());
        video.pix_fmt(avutil.AV_PIX_FMT_YUV420P);
        video.time_base(avutil.av_inv_q(rate));
        video.framerate(rate);
        video.bit_rate(f.videoBitrate());
        video.gop_size(f.gop());
        videoStream = addStream(video, codec, f.videoCodec());
        videoStream.avg_frame_rate(rate);
        if (f.rotation() != 0) {
            BytePointer matrix = avformat.av_stream_new_side_data(videoStream, avcodec.AV_PKT_DATA_DISPLAYMATRIX, 9 * 4);
            avutil.av_display_rotation_set(new IntPointer(matrix), f.rotation());
        }
        yuv = avutil.av_frame_alloc();
        yuv.format(avutil.AV_PIX_FMT_YUV420P);
        yuv.width(f.width());
        yuv.height(f.height());
        check(avutil.av_frame_get_buffer(yuv, 0), "av_frame_get_buffer");
        sws = swscale.sws_getContext(f.width(), f.height(), avutil.AV_PIX_FMT_RGB24, f.width(), f.height(),
                avutil.AV_PIX_FMT_YUV420P, swscale.SWS_BILINEAR, null, null, (DoublePointer) null);
    }

    private void openAudio(Format f) throws IOException {
        AVCodec codec = avcodec.avcodec_find_encoder(avcodec.AV_CODEC_ID_AAC);
        audio = openEncoder(codec, "aac");
        AVChannelLayout mono = new AVChannelLayout();
        avutil.av_channel_layout_default(mono, 1);
        audio.ch_layout(mono);
        audio.sample_fmt(avutil.AV_SAMPLE_FMT_FLTP);
        audio.sample_rate(f.sampleRate());
        audio.time_base(new AVRational().num(1).den(f.sampleRate()));
        audio.bit_rate(f.audioBitrate());
        audioStream = addStream(audio, codec, "aac");
        swr = new SwrContext(null); // FFmpeg allocates it and JavaCPP stores the address
        int ret = swresample.swr_alloc_set_opts2(swr, mono, avutil.AV_SAMPLE_FMT_FLTP, f.sampleRate(), mono,
                avutil.AV_SAMPLE_FMT_S16, f.sampleRate(), 0, null);
        check(ret, "swr_alloc_set_opts2");
        check(swresample.swr_init(swr), "swr_init");
        fifo = avutil.av_audio_fifo_alloc(avutil.AV_SAMPLE_FMT_FLTP, 1, audio.frame_size());
        audioFrame = avutil.av_frame_alloc();
        audioFrame.format(avutil.AV_SAMPLE_FMT_FLTP);
        avutil.av_channel_layout_copy(audioFrame.ch_layout(), mono);
        audioFrame.sample_rate(f.sampleRate());
        audioFrame.nb_samples(audio.frame_size());
        check(avutil.av_frame_get_buffer(audioFrame, 0), "av_frame_get_buffer");
    }

    /** Encodes one RGB24 frame, rows {@code width * 3} bytes apart. */
    void image(ByteBuffer rgb) throws IOException {
        check(avutil.av_frame_make_writable(yuv), "av_frame_make_writable");
        BytePointer src = new BytePointer(rgb);
        PointerPointer<BytePointer> planes = new PointerPointer<>(4);
        planes.put(0, src);
        IntPointer strides = new IntPointer(4).put(0, yuv.width() * 3);
        swscale.sws_scale(sws, planes, strides, 0, yuv.height(), yuv.data(), yuv.linesize());
        planes.close();
        strides.close();
        yuv.pts(videoPts++);
        encode(video, videoStream, yuv);
    }

    /** Queues mono s16 samples at the audio sample rate; whole encoder frames are encoded. */
    void samples(ShortBuffer s16) throws IOException {
        int n = s16.remaining();
        ByteBuffer bytes = ByteBuffer.allocateDirect(n * 2).order(java.nio.ByteOrder.nativeOrder());
        bytes.asShortBuffer().put(s16.duplicate());
        BytePointer in = new BytePointer(bytes);
        PointerPointer<BytePointer> inPlanes = new PointerPointer<>(1);
        inPlanes.put(0, in);
        BytePointer converted = new BytePointer(avutil.av_malloc((n + 64) * 4L));
        PointerPointer<BytePointer> outPlanes = new PointerPointer<>(1);
        outPlanes.put(0, converted);
        try {
            int got = swresample.swr_convert(swr, outPlanes, n + 64, inPlanes, n);
            check(got, "swr_convert");
            if (avutil.av_audio_fifo_write(fifo, outPlanes, got) < got) {
                throw new IOException("FFmpeg audio queue refused samples writing " + file);
            }
        } finally {
            avutil.av_free(converted);
            outPlanes.close();
            inPlanes.close();
        }
        while (avutil.av_audio_fifo_size(fifo) >= audio.frame_size()) {
            encodeAudioFrame(audio.frame_size());
        }
    }

    private void encodeAudioFrame(int n) throws IOException {
        check(avutil.av_frame_make_writable(audioFrame), "av_frame_make_writable");
        audioFrame.nb_samples(n);
        avutil.av_audio_fifo_read(fifo, audioFrame.data(), n);
        audioFrame.pts(audioPts);
        audioPts += n;
        encode(audio, audioStream, audioFrame);
    }

    /** Encodes what is queued, drains the encoders and writes the container's index. */
    void finish() throws IOException {
        if (audio != null) {
            if (avutil.av_audio_fifo_size(fifo) > 0) {
                encodeAudioFrame(avutil.av_audio_fifo_size(fifo));
            }
            encode(audio, audioStream, null);
        }
        if (video != null) {
            encode(video, videoStream, null);
        }
        check(avformat.av_write_trailer(out), "av_write_trailer");
    }

    private void encode(AVCodecContext c, AVStream s, AVFrame frame) throws IOException {
        check(avcodec.avcodec_send_frame(c, frame), "avcodec_send_frame");
        while (true) {
            int ret = avcodec.avcodec_receive_packet(c, packet);
            if (ret == avutil.AVERROR_EAGAIN() || ret == avutil.AVERROR_EOF) {
                return;
            }
            check(ret, "avcodec_receive_packet");
            avcodec.av_packet_rescale_ts(packet, c.time_base(), s.time_base());
            packet.stream_index(s.index());
            check(avformat.av_interleaved_write_frame(out, packet), "av_interleaved_write_frame");
        }
    }

    private void check(int ret, String call) throws IOException {
        if (ret < 0) {
            throw new IOException(call + " failed writing " + file + ": " + MediaReader.errorString(ret));
        }
    }

    @Override
    public void close() {
        if (video != null) {
            avcodec.avcodec_free_context(video);
        }
        if (audio != null) {
            avcodec.avcodec_free_context(audio);
        }
        if (yuv != null) {
            avutil.av_frame_free(yuv);
        }
        if (audioFrame != null) {
            avutil.av_frame_free(audioFrame);
        }
        if (sws != null) {
            swscale.sws_freeContext(sws);
        }
        if (swr != null) {
            swresample.swr_free(swr);
        }
        if (fifo != null) {
            avutil.av_audio_fifo_free(fifo);
        }
        avcodec.av_packet_free(packet);
        if (out != null) {
            if (out.pb() != null && !out.pb().isNull()) {
                avformat.avio_closep(out.pb());
            }
            avformat.avformat_free_context(out);
        }
    }
}
