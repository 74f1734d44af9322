package io.hicmae.prep;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Locale;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avfilter.AVFilterContext;
import org.bytedeco.ffmpeg.avfilter.AVFilterGraph;
import org.bytedeco.ffmpeg.avfilter.AVFilterInOut;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avfilter;
import org.bytedeco.ffmpeg.global.avformat;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.javacpp.SizeTPointer;

/**
 * An independent decode for golden comparisons: the filter graph the {@code ffmpeg} program builds for the same
 * command line (libavfilter's scale, crop, transpose and aresample, in the program's order: autorotate first), run
 * in-process, so the comparison needs no {@code ffmpeg} program and no libavdevice (the bundled program links it,
 * and with it libpulse, which a JDK-only machine lacks). Only the demuxing and decoding are shared with the code
 * under test.
 */
final class ReferenceDecode {

    private ReferenceDecode() {}

    /**
     * All frames, upright, scaled to 224x224 bilinear and cropped to the fixed region: (N, 160, 160, 3); as
     * {@code ffmpeg -i IN -an -vf scale=224:224:flags=bilinear,crop=160:160:32:0 -pix_fmt rgb24 -vsync passthrough}.
     */
    static byte[] croppedFrames(Path input) throws IOException {
        return run(input, avutil.AVMEDIA_TYPE_VIDEO, "scale=224:224:flags=bilinear,crop=160:160:32:0,format=rgb24");
    }

    /** All audio as 16 kHz mono samples; as {@code ffmpeg -i IN -vn -ac 1 -ar 16000 -f s16le}. */
    static short[] pcm16k(Path input) throws IOException {
        byte[] raw = run(input, avutil.AVMEDIA_TYPE_AUDIO,
                "aresample=16000,aformat=sample_fmts=s16:channel_layouts=mono");
        short[] s = new short[raw.length / 2];
        ByteBuffer.wrap(raw).order(ByteOrder.nativeOrder()).asShortBuffer().get(s);
        return s;
    }

    /** Samples of a clip's pcm column. */
    static short[] samples(byte[] pcm) {
        short[] s = new short[pcm.length / 2];
        ByteBuffer.wrap(pcm).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(s);
        return s;
    }

    /** The program's autorotate filters for a display matrix (fftools' ffmpeg_filter.c), then a comma, or "". */
    private static String autorotate(AVStream stream) {
        BytePointer side = avformat.av_stream_get_side_data(stream, avcodec.AV_PKT_DATA_DISPLAYMATRIX,
                (SizeTPointer) null);
        if (side == null || side.isNull()) {
            return "";
        }
        IntPointer m = new IntPointer(side);
        double theta = -Math.round(avutil.av_display_rotation_get(m));
        theta -= 360 * Math.floor(theta / 360 + 0.9 / 360);
        if (Math.abs(theta - 90) < 1) {
            return "transpose=" + (m.get(3) > 0 ? "cclock_flip" : "clock") + ",";
        } else if (Math.abs(theta - 180) < 1) {
            return (m.get(0) < 0 ? "hflip," : "") + (m.get(4) < 0 ? "vflip," : "");
        } else if (Math.abs(theta - 270) < 1) {
            return "transpose=" + (m.get(3) < 0 ? "clock_flip" : "cclock") + ",";
        }
        return "";
    }

    private static byte[] run(Path input, int type, String filters) throws IOException {
        FfmpegNatives.ensureLoaded();
        AVFormatContext fmt = new AVFormatContext(null);
        check(avformat.avformat_open_input(fmt, "file:" + input.toAbsolutePath(), null, null), "open " + input);
        AVCodecContext dec = null;
        AVFilterGraph graph = avfilter.avfilter_graph_alloc();
        AVPacket pkt = avcodec.av_packet_alloc();
        AVFrame frame = avutil.av_frame_alloc();
        AVFrame out = avutil.av_frame_alloc();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            check(avformat.avformat_find_stream_info(fmt, (PointerPointer<?>) null), "probe");
            AVStream stream = null;
            for (int i = 0; i < fmt.nb_streams() && stream == null; i++) {
                if (fmt.streams(i).codecpar().codec_type() == type) {
                    stream = fmt.streams(i);
                }
            }
            if (stream == null) {
                throw new IOException("no stream of type " + type + " in " + input);
            }
            AVCodec codec = avcodec.avcodec_find_decoder(stream.codecpar().codec_id());
            dec = avcodec.avcodec_alloc_context3(codec);
            check(avcodec.avcodec_parameters_to_context(dec, stream.codecpar()), "parameters");
            dec.pkt_timebase(stream.time_base());
            dec.thread_count(1);
            check(avcodec.avcodec_open2(dec, codec, (AVDictionary) null), "open decoder");
            String source = type == avutil.AVMEDIA_TYPE_VIDEO
                    ? String.format(Locale.ROOT, "buffer=video_size=%dx%d:pix_fmt=%d:time_base=%d/%d:pixel_aspect=1/1,%s",
                            dec.width(), dec.height(), dec.pix_fmt(), stream.time_base().num(),
                            stream.time_base().den(), autorotate(stream))
                    : String.format(Locale.ROOT, "abuffer=sample_rate=%d:sample_fmt=%s:channel_layout=%s:time_base=1/%d,",
                            dec.sample_rate(), avutil.av_get_sample_fmt_name(dec.sample_fmt()).getString(),
                            dec.ch_layout().nb_channels() == 1 ? "mono" : "stereo", dec.sample_rate());
            String sink = type == avutil.AVMEDIA_TYPE_VIDEO ? ",buffersink" : ",abuffersink";
            AVFilterInOut open = new AVFilterInOut(null); // a closed chain: no open pads in or out
            AVFilterInOut left = new AVFilterInOut(null);
            check(avfilter.avfilter_graph_parse_ptr(graph, source + filters + sink, open, left, null),
                    "parse filters");
            check(avfilter.avfilter_graph_config(graph, null), "configure filters");
            AVFilterContext src = null;
            AVFilterContext dst = null;
            for (int i = 0; i < graph.nb_filters(); i++) {
                String name = graph.filters(i).filter().name().getString();
                if (name.equals("buffer") || name.equals("abuffer")) {
                    src = graph.filters(i);
                } else if (name.equals("buffersink") || name.equals("abuffersink")) {
                    dst = graph.filters(i);
                }
            }
            boolean more = true;
            while (more) {
                int r = avformat.av_read_frame(fmt, pkt);
                more = r >= 0;
                if (more && pkt.stream_index() != stream.index()) {
                    avcodec.av_packet_unref(pkt);
                    continue;
                }
                check(avcodec.avcodec_send_packet(dec, more ? pkt : null), "send packet");
                avcodec.av_packet_unref(pkt);
                while (avcodec.avcodec_receive_frame(dec, frame) >= 0) {
                    check(avfilter.av_buffersrc_add_frame_flags(src, frame, 0), "filter");
                    drain(dst, out, type, bytes);
                }
            }
            check(avfilter.av_buffersrc_add_frame_flags(src, null, 0), "flush filters");
            drain(dst, out, type, bytes);
            return bytes.toByteArray();
        } finally {
            avutil.av_frame_free(frame);
            avutil.av_frame_free(out);
            avcodec.av_packet_free(pkt);
            avfilter.avfilter_graph_free(graph);
            if (dec != null) {
                avcodec.avcodec_free_context(dec);
            }
            avformat.avformat_close_input(fmt);
        }
    }

    private static void drain(AVFilterContext sink, AVFrame out, int type, ByteArrayOutputStream bytes) {
        while (avfilter.av_buffersink_get_frame(sink, out) >= 0) {
            if (type == avutil.AVMEDIA_TYPE_VIDEO) {
                int row = out.width() * 3;
                byte[] line = new byte[row];
                BytePointer data = out.data(0);
                for (int y = 0; y < out.height(); y++) {
                    data.position((long) y * out.linesize(0)).get(line);
                    bytes.write(line, 0, row);
                }
            } else {
                byte[] pcm = new byte[out.nb_samples() * 2];
                out.data(0).get(pcm);
                bytes.write(pcm, 0, pcm.length);
            }
            avutil.av_frame_unref(out);
        }
    }

    private static void check(int ret, String what) throws IOException {
        if (ret < 0) {
            throw new IOException("reference decode: " + what + " failed: " + MediaReader.errorString(ret));
        }
    }
}
