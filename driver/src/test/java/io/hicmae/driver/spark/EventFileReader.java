package io.hicmae.driver.spark;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the independent TensorBoard event reader (test resources {@code tensorboard/read_events.py} and the vendored
 * {@code event.proto}, compiled by protoc): Python, the protobuf library and a hand-written CRC32C, sharing no code
 * with {@link TensorBoardWriter}. Tests skip, saying why, where python3-protobuf or protoc is missing (.ci/run
 * installs them: {@code apt-get install python3-protobuf protobuf-compiler}).
 */
final class EventFileReader {

    /** What the reader printed (one JSON object per event) or its error. */
    record Result(int exit, List<JsonObject> events, String error) {}

    private final String python;
    private final Path dir;

    private EventFileReader(String python, Path dir) {
        this.python = python;
        this.dir = dir;
    }

    /** The reader, compiled into {@code work}; skips the calling test when its tools are missing. */
    static EventFileReader prepare(Path work) throws Exception {
        String python = null;
        for (String candidate : List.of("/usr/bin/python3", "python3")) {
            if (run(work, candidate, "-c", "import google.protobuf").exit() == 0) {
                python = candidate;
                break;
            }
        }
        Assumptions.assumeTrue(python != null,
                "python3 with the protobuf library (Debian: python3-protobuf) not found: TensorBoard read-back skipped");
        Assumptions.assumeTrue(run(work, "protoc", "--version").exit() == 0,
                "protoc (Debian: protobuf-compiler) not found: TensorBoard read-back skipped");
        for (String f : List.of("event.proto", "read_events.py")) {
            try (InputStream in = EventFileReader.class.getResourceAsStream("/tensorboard/" + f)) {
                Files.copy(in, work.resolve(f));
            }
        }
        Result compiled = run(work, "protoc", "--proto_path=" + work, "--python_out=" + work,
                work.resolve("event.proto").toString());
        if (compiled.exit() != 0) {
            throw new IllegalStateException("protoc failed: " + compiled.error());
        }
        return new EventFileReader(python, work);
    }

    Result read(Path eventFile) throws Exception {
        return run(dir, python, dir.resolve("read_events.py").toString(), eventFile.toString(), dir.toString());
    }

    private static Result run(Path work, String... command) throws Exception {
        Process p;
        Path err = Files.createTempFile(work, "stderr", ".txt");
        try {
            p = new ProcessBuilder(command).redirectError(err.toFile()).start();
        } catch (IOException e) {
            return new Result(127, List.of(), e.toString());
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException(String.join(" ", command) + " did not finish in 60 s");
        }
        List<JsonObject> events = new ArrayList<>();
        for (String line : out.split("\n")) {
            if (line.startsWith("{")) {
                events.add(JsonParser.parseString(line).getAsJsonObject());
            }
        }
        return new Result(p.exitValue(), events, Files.readString(err));
    }
}
