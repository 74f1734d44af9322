package io.hicmae.prep;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bytedeco.javacpp.Loader;

/** An independent decode through the {@code ffmpeg} program shipped in the bytedeco jar, for golden comparisons. */
final class ReferenceDecode {

    private ReferenceDecode() {}

    /** Runs the bundled ffmpeg with {@code args} after {@code -i input}, returning what it wrote to stdout. */
    static byte[] ffmpeg(Path input, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(executable(), "-nostdin", "-v", "error", "-i", input.toString()));
        cmd.addAll(List.of(args));
        cmd.add("-");
        Path err = Files.createTempFile("ffmpeg", ".err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(err.toFile());
        pb.environment().put("LD_LIBRARY_PATH", libraryPath());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException("ffmpeg " + cmd + " failed: " + Files.readString(err));
        }
        Files.delete(err);
        return out;
    }

    private static synchronized String executable() {
        FfmpegNatives.ensureLoaded();
        return Loader.load(org.bytedeco.ffmpeg.ffmpeg.class);
    }

    private static String libraryPath;

    /**
     * The jar's native directory plus a directory of links under the sonames the program asks for (the jar ships
     * libva.so and libva-drm.so, the program wants libva.so.2 and libva-drm.so.2).
     */
    private static synchronized String libraryPath() throws IOException {
        if (libraryPath == null) {
            Path natives = Path.of(executable()).getParent();
            Path links = Files.createTempDirectory("ffmpeg-sonames");
            for (String lib : List.of("libva.so", "libva-drm.so")) {
                Files.createSymbolicLink(links.resolve(lib + ".2"), natives.resolve(lib));
            }
            libraryPath = links + ":" + natives;
        }
        return libraryPath;
    }

    /** All frames, upright, scaled to 224x224 bilinear and cropped to the fixed region: (N, 160, 160, 3). */
    static byte[] croppedFrames(Path input) throws IOException, InterruptedException {
        return ffmpeg(input, "-an", "-vf", "scale=224:224:flags=bilinear,crop=160:160:32:0", "-pix_fmt", "rgb24",
                "-vsync", "passthrough", "-f", "rawvideo");
    }

    /** All audio as 16 kHz mono samples. */
    static short[] pcm16k(Path input) throws IOException, InterruptedException {
        byte[] raw = ffmpeg(input, "-vn", "-ac", "1", "-ar", "16000", "-f", "s16le");
        short[] s = new short[raw.length / 2];
        ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(s);
        return s;
    }

    /** Samples of a clip's pcm column. */
    static short[] samples(byte[] pcm) {
        short[] s = new short[pcm.length / 2];
        ByteBuffer.wrap(pcm).order(ByteOrder.LITTLE_ENDIAN).asShortBuffer().get(s);
        return s;
    }
}
