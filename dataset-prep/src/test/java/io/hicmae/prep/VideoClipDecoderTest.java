package io.hicmae.prep;

import io.hicmae.runtime.data.ClipSchema;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.prep.SyntheticVideoGenerator.Spec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VideoClipDecoderTest {

    private static final int FRAME = ClipSchema.CROP_SIZE * ClipSchema.CROP_SIZE * ClipSchema.COLOR_CHANNELS;

    @TempDir static Path dir;
    static Path good; // 224x224, 25 fps, 6 s = 150 frames

    @BeforeAll
    static void writeVideos() throws IOException {
        good = dir.resolve("good.mp4");
        new SyntheticVideoGenerator(11).write(good, 0, Spec.talkingFace(6));
    }

    private static Path synth(String name, Spec spec) throws IOException {
        Path p = dir.resolve(name);
        if (!Files.exists(p)) {
            new SyntheticVideoGenerator(12).write(p, 0, spec);
        }
        return p;
    }

    private static List<ClipRecord> clips(Path file, ClipSampler sampler) {
        List<ClipRecord> out = new ArrayList<>();
        DecodeOutcome o = decoder(sampler, Clock.systemUTC()).decode(file, file.getFileName().toString(), out::add);
        assertNull(o.quarantine(), () -> "unexpected quarantine " + o.quarantine());
        assertEquals(out.size(), o.clips());
        return out;
    }

    private static VideoClipDecoder decoder(ClipSampler sampler, Clock clock) {
        return new VideoClipDecoder(sampler, Duration.ofSeconds(60), clock);
    }

    @Test
    void yieldsOneClipPerNonOverlappingWindow() {
        List<ClipRecord> clips = clips(good, ClipSampler.NON_OVERLAPPING);
        assertEquals(2, clips.size());
        for (int w = 0; w < 2; w++) {
            ClipRecord c = clips.get(w);
            assertEquals(w, c.window());
            assertEquals(2.56 * w, c.startS(), 1e-9);
            assertEquals(25.0, c.fps(), 1e-9);
            assertEquals(16 * 160 * 160 * 3, c.frames().length);
            assertEquals(40_960 * 2, c.pcm().length);
            assertEquals(ClipRecord.clipId("good.mp4", w), c.clipId());
        }
    }

    @Test
    void windowStrideIsConfigurable() {
        List<ClipRecord> clips = clips(good, new ClipSampler(32));
        assertEquals(3, clips.size());
        assertEquals(1.28, clips.get(1).startS(), 1e-9);
    }

    @Test
    void aVideoOfExactlyOneWindowYieldsOneClipAndOneFrameLessIsTooShort() throws IOException {
        assertEquals(1, clips(synth("64.mp4", Spec.talkingFace(2.56)), ClipSampler.NON_OVERLAPPING).size());
        Path shorter = synth("63.mp4", Spec.talkingFace(2.52));
        DecodeOutcome o = decoder(ClipSampler.NON_OVERLAPPING, Clock.systemUTC()).decode(shorter, "63.mp4", c -> {});
        assertEquals(QuarantineReason.TOO_SHORT, o.quarantine().reason());
        assertTrue(o.quarantine().detail().contains("video 2.52 s"), o.quarantine().detail());
    }

    @Test
    void framesAndAudioMatchAnIndependentDecode() throws Exception {
        byte[] ref = ReferenceDecode.croppedFrames(good);
        short[] refPcm = ReferenceDecode.pcm16k(good);
        for (ClipRecord c : clips(good, ClipSampler.NON_OVERLAPPING)) {
            for (int k = 0; k < 16; k++) {
                int source = c.window() * 64 + 4 * k;
                assertArrayEquals(
                        Arrays.copyOfRange(ref, source * FRAME, (source + 1) * FRAME),
                        Arrays.copyOfRange(c.frames(), k * FRAME, (k + 1) * FRAME),
                        "window " + c.window() + " frame " + k + " (source frame " + source + ")");
            }
            int from = c.window() * 40_960;
            assertArrayEquals(Arrays.copyOfRange(refPcm, from, from + 40_960), ReferenceDecode.samples(c.pcm()),
                    "audio of window " + c.window());
        }
    }

    @Test
    void otherFrameRatesAreSampledByTimestamp() throws Exception {
        Path fps30 = synth("30fps.mp4", Spec.talkingFace(6).withFps(30));
        byte[] ref = ReferenceDecode.croppedFrames(fps30);
        List<ClipRecord> clips = clips(fps30, ClipSampler.NON_OVERLAPPING);
        assertEquals(2, clips.size()); // window 1 needs 5.08 s, window 2 needs 7.64 s of the 6 s
        for (ClipRecord c : clips) {
            for (int k = 0; k < 16; k++) {
                int ref25 = c.window() * 64 + 4 * k;
                int source = ref25 * 30 / 25; // the 30 fps frame on screen at that instant
                assertArrayEquals(
                        Arrays.copyOfRange(ref, source * FRAME, (source + 1) * FRAME),
                        Arrays.copyOfRange(c.frames(), k * FRAME, (k + 1) * FRAME),
                        "window " + c.window() + " frame " + k + " (30 fps frame " + source + ")");
            }
            assertEquals(30.0, c.fps(), 1e-9);
        }
    }

    @Test
    void otherSizesAreScaledTo224First() throws Exception {
        Path wide = synth("320x240.mp4", Spec.talkingFace(2.6).withSize(320, 240));
        assertFramesClose(ReferenceDecode.croppedFrames(wide), clips(wide, ClipSampler.NON_OVERLAPPING).get(0));
    }

    @Test
    void rotationMetadataIsHonoured() throws Exception {
        for (int rotation : new int[] {90, 180, 270}) {
            Path rotated = synth("rot" + rotation + ".mp4", Spec.talkingFace(2.6).withRotation(rotation));
            ClipRecord clip = clips(rotated, ClipSampler.NON_OVERLAPPING).get(0);
            // The ffmpeg program turns frames upright by itself (autorotate).
            assertFramesClose(ReferenceDecode.croppedFrames(rotated), clip);
        }
    }

    /** Frames within 3 levels on average: the reference scales and rotates in a different order than we do. */
    private static void assertFramesClose(byte[] ref, ClipRecord c) {
        for (int k = 0; k < 16; k++) {
            int source = c.window() * 64 + 4 * k;
            long sum = 0;
            for (int i = 0; i < FRAME; i++) {
                sum += Math.abs((ref[source * FRAME + i] & 0xff) - (c.frames()[k * FRAME + i] & 0xff));
            }
            double mad = sum / (double) FRAME;
            assertTrue(mad < 3, "frame " + k + " of " + c.source() + ": mean abs diff " + mad);
        }
    }

    @Test
    void awkwardFileNamesWork() throws IOException {
        for (String name : new String[] {"with space.mp4", "ünïcödé 视频.mp4", "-leading-dash.mp4", "a:b.mp4"}) {
            Path p = dir.resolve(name);
            Files.copy(good, p);
            assertEquals(2, clips(p, ClipSampler.NON_OVERLAPPING).size(), name);
        }
    }

    @Test
    void decodingTwiceGivesTheSameClips() {
        List<ClipRecord> a = clips(good, ClipSampler.NON_OVERLAPPING);
        List<ClipRecord> b = clips(good, ClipSampler.NON_OVERLAPPING);
        for (int i = 0; i < a.size(); i++) {
            assertEquals(a.get(i).clipId(), b.get(i).clipId());
            assertArrayEquals(a.get(i).frames(), b.get(i).frames());
            assertArrayEquals(a.get(i).pcm(), b.get(i).pcm());
        }
    }

    @Test
    void brokenFilesLandInTheQuarantineWithTheirReason() throws IOException {
        Map<Path, QuarantineReason> expected = new LinkedHashMap<>();
        Path empty = Files.createFile(dir.resolve("empty.mp4"));
        expected.put(empty, QuarantineReason.UNREADABLE);
        expected.put(Files.writeString(dir.resolve("text.mp4"), "just some text\n".repeat(100)),
                QuarantineReason.UNREADABLE);
        byte[] bytes = Files.readAllBytes(good);
        expected.put(Files.write(dir.resolve("truncated.mp4"), Arrays.copyOf(bytes, bytes.length / 2)),
                QuarantineReason.UNREADABLE);
        expected.put(synth("audio-only.mp4", Spec.talkingFace(3).withStreams(false, true)), QuarantineReason.NO_VIDEO);
        expected.put(synth("video-only.mp4", Spec.talkingFace(3).withStreams(true, false)), QuarantineReason.NO_AUDIO);
        expected.put(synth("short.mp4", Spec.talkingFace(1.5)), QuarantineReason.TOO_SHORT);
        expected.put(Files.createDirectory(dir.resolve("dir.mp4")), QuarantineReason.NOT_A_FILE);
        expected.put(Files.createSymbolicLink(dir.resolve("link.mp4"), good), QuarantineReason.NOT_A_FILE);
        VideoClipDecoder decoder = decoder(ClipSampler.NON_OVERLAPPING, Clock.systemUTC());
        for (Map.Entry<Path, QuarantineReason> e : expected.entrySet()) {
            String name = e.getKey().getFileName().toString();
            DecodeOutcome o = decoder.decode(e.getKey(), name, c -> {});
            assertTrue(o.isQuarantined(), name + " was not quarantined");
            assertEquals(e.getValue(), o.quarantine().reason(), name + ": " + o.quarantine().detail());
            assertEquals(name, o.quarantine().source());
            assertTrue(o.quarantine().detail().contains(name) || o.quarantine().reason() == QuarantineReason.TOO_SHORT,
                    "detail should name the file: " + o.quarantine().detail());
        }
    }

    @Test
    void aVideoPastItsDeadlineTimesOut() {
        Clock ticking = new Clock() { // one second passes per look at the clock
            private long seconds;

            @Override
            public Instant instant() {
                return Instant.ofEpochSecond(seconds++);
            }

            @Override
            public ZoneOffset getZone() {
                return ZoneOffset.UTC;
            }

            @Override
            public Clock withZone(java.time.ZoneId zone) {
                return this;
            }
        };
        // ~410 frames (150 video, ~260 audio): the first window is out before the deadline, the second is not.
        List<ClipRecord> sink = new ArrayList<>();
        DecodeOutcome o = new VideoClipDecoder(ClipSampler.NON_OVERLAPPING, Duration.ofSeconds(300), ticking)
                .decode(good, "good.mp4", sink::add);
        assertEquals(QuarantineReason.TIMEOUT, o.quarantine().reason(), o.quarantine().detail());
        assertTrue(o.quarantine().detail().contains("PT5M"), o.quarantine().detail());
        assertEquals(1, sink.size(), "clips handed out before the deadline; the caller drops them");
        assertEquals(1, o.clips());
    }
}
