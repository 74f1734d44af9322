package io.hicmae.driver.spark;

import com.google.gson.JsonObject;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TensorBoardWriterTest {

    @TempDir Path dir;

    private Path onlyEventFile(Path runDir) throws Exception {
        try (Stream<Path> files = Files.list(runDir)) {
            List<Path> all = files.toList();
            assertEquals(1, all.size(), "one event file and no side files: " + all);
            assertTrue(all.get(0).getFileName().toString().startsWith("events.out.tfevents."), all.toString());
            return all.get(0);
        }
    }

    @Test
    void scalarsRoundTripThroughAnIndependentReaderThatChecksEveryCrc() throws Exception {
        EventFileReader reader = EventFileReader.prepare(Files.createDirectory(dir.resolve("reader")));
        try (TensorBoardWriter w = TensorBoardWriter.open(dir.resolve("tb").toString(), "run-1", new Configuration())) {
            for (long step = 1; step <= 3; step++) {
                Map<String, Double> scalars = new TreeMap<>();
                scalars.put("loss", 2.5 / step);
                scalars.put("lr", 1e-4 * step);
                scalars.put("compute_ms", 100.0 + step);
                scalars.put("grad_norm", Double.NaN); // left out
                w.write(scalars, step * 150); // steps past one varint byte
            }
        }
        Path file = onlyEventFile(dir.resolve("tb").resolve("run-1"));
        EventFileReader.Result r = reader.read(file);
        assertEquals(0, r.exit(), r.error());
        assertEquals(4, r.events().size(), r.events().toString());
        assertEquals("brain.Event:2", r.events().get(0).get("file_version").getAsString());
        for (int i = 1; i <= 3; i++) {
            JsonObject e = r.events().get(i);
            assertEquals(i * 150L, e.get("step").getAsLong());
            assertTrue(e.get("wall_time").getAsDouble() > 1.7e9, e.toString());
            JsonObject s = e.getAsJsonObject("scalars");
            assertEquals(3, s.size(), "NaN is not written: " + s);
            assertEquals((float) (2.5 / i), s.get("loss").getAsFloat());
            assertEquals((float) (1e-4 * i), s.get("lr").getAsFloat());
            assertEquals((float) (100.0 + i), s.get("compute_ms").getAsFloat());
        }

        // The reader really checks the CRCs: one flipped bit in the last record's payload is caught.
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 8] ^= 0x01;
        Path bad = dir.resolve("bad.tfevents");
        Files.write(bad, bytes);
        EventFileReader.Result broken = reader.read(bad);
        assertEquals(2, broken.exit(), broken.toString());
        assertTrue(broken.error().contains("record 3: data CRC mismatch"), broken.error());
    }

    @Test
    void noDirectoryMeansNoFile() throws Exception {
        try (TensorBoardWriter w = TensorBoardWriter.open(null, "run-1", new Configuration())) {
            w.write(Map.of("loss", 1.0), 1);
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(0, files.count());
        }
    }
}
