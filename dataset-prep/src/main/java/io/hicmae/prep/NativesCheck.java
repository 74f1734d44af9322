package io.hicmae.prep;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;

/**
 * A self-check of the FFmpeg natives, run in a JVM of its own: encodes a short synthetic video, decodes it into clips,
 * and lists the shared libraries the process then has mapped. Exit status 0 when both worked and neither libavdevice
 * nor a system audio or X library (libpulse, libasound, libxcb) is mapped; 3 when one is; 1 when encoding or decoding
 * failed. With {@code --load-avdevice} it first loads libavdevice the way JavaCV does, which ends in status 2 where
 * the machine lacks what libavdevice links (tests use it to show the libraries are really hidden), else in 3.
 *
 * <p>Usage: {@code java -cp ... io.hicmae.prep.NativesCheck DIR [--load-avdevice]}
 */
public final class NativesCheck {

    /** Names of libraries a JDK-only machine lacks, or that pull them in. */
    static final List<String> FORBIDDEN = List.of("libavdevice", "libpulse", "libasound", "libxcb");

    private NativesCheck() {}

    /** The mapped shared libraries of this process whose names contain one of {@link #FORBIDDEN}. */
    public static List<String> forbiddenMapped() throws IOException {
        return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                .map(l -> l.substring(l.lastIndexOf(' ') + 1))
                .filter(p -> p.contains(".so") && FORBIDDEN.stream().anyMatch(p::contains))
                .distinct().toList();
    }

    public static void main(String[] args) throws IOException {
        if (args.length > 1 && args[1].equals("--load-avdevice")) {
            try {
                org.bytedeco.javacpp.Loader.load(org.bytedeco.ffmpeg.global.avdevice.class);
                System.out.println("libavdevice loaded");
            } catch (Throwable e) {
                StringBuilder causes = new StringBuilder(e.toString());
                for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                    causes.append("; caused by ").append(c);
                }
                System.out.println("libavdevice failed to load: " + causes);
                System.exit(2);
            }
        }
        Path dir = Files.createDirectories(Path.of(args[0]));
        Path video = dir.resolve("natives-check.mp4");
        int clips;
        try {
            new SyntheticVideoGenerator(1).write(video, 0, SyntheticVideoGenerator.Spec.talkingFace(2.6));
            DecodeOutcome o = new VideoClipDecoder(ClipSampler.NON_OVERLAPPING, Duration.ofSeconds(60),
                    Clock.systemUTC()).decode(video, video.getFileName().toString(), c -> {});
            if (o.isQuarantined()) {
                System.out.println("decode failed: " + o.quarantine());
                System.exit(1);
            }
            clips = o.clips();
        } catch (IOException | RuntimeException | LinkageError e) {
            System.out.println("encode or decode failed: " + e);
            System.exit(1);
            return;
        }
        List<String> bad = forbiddenMapped();
        System.out.println("encoded and decoded " + clips + " clips; forbidden libraries mapped: " + bad);
        System.exit(bad.isEmpty() ? 0 : 3);
    }
}
