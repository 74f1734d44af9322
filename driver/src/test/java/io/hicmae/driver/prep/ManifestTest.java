package io.hicmae.driver.prep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.driver.prep.CsvReader.CsvRecord;
import io.hicmae.driver.prep.InputListing.InputFile;
import io.hicmae.prep.QuarantineReason;
import io.hicmae.prep.QuarantineRecord;
import io.hicmae.runtime.data.ClipLabels;
import io.hicmae.runtime.data.LabelSpace;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ManifestTest {

    @TempDir Path dir;

    private Manifest read(String csv) throws IOException {
        Path file = Files.writeString(dir.resolve("labels.csv"), csv);
        return Manifest.read(file.toString(), new Configuration());
    }

    /** The error a bad manifest gives; it must name the manifest file. */
    private String error(String csv) {
        String message = assertThrows(IllegalArgumentException.class, () -> read(csv)).getMessage();
        assertTrue(message.contains(dir.resolve("labels.csv").toString()), message);
        return message;
    }

    private List<String> paths(Manifest m) {
        return m.entries().stream().map(e -> e.path().toUri().getPath()).toList();
    }

    @Test
    void csvReaderFollowsRfc4180() throws IOException {
        String csv = "\uFEFFa,\"b, c\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",,x\n\nlast,\"\",y";
        List<CsvRecord> r = new CsvReader("t", new StringReader(csv)).readAll();
        assertEquals(List.of("a", "b, c", "say \"hi\""), r.get(0).fields());
        assertEquals(1, r.get(0).line());
        assertEquals(List.of("two\nlines", "", "x"), r.get(1).fields());
        assertEquals(2, r.get(1).line());
        assertTrue(r.get(2).isBlank());
        assertEquals(4, r.get(2).line());
        assertEquals(List.of("last", "", "y"), r.get(3).fields());
        assertEquals(5, r.get(3).line());
        assertEquals(4, r.size());
        assertEquals("t, line 2: a quoted field is never closed",
                assertThrows(IllegalArgumentException.class,
                        () -> new CsvReader("t", new StringReader("a\n\"b,c\n")).readAll()).getMessage());
        assertEquals("t, line 1: character 'x' after the closing quote of a field; quote the whole field",
                assertThrows(IllegalArgumentException.class,
                        () -> new CsvReader("t", new StringReader("\"a\"x,b\n")).readAll()).getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> new CsvReader("t", new StringReader("a\"b\n")).readAll()).getMessage().startsWith(
                        "t, line 1: a quote inside the unquoted field 'a'"));
    }

    @Test
    void aCategoricalManifestSortsItsClassNames() throws IOException {
        Manifest m = read("split,path,label,fold\n"
                + "train,a.mp4,happy,0\n"
                + "\n"
                + "val,\"sub/b, c.mp4\",angry,1\n"
                + ",/abs/d.mp4, sad ,\n"
                + "train,e.mp4,happy,3\n");
        assertEquals(new LabelSpace(LabelSpace.Kind.CATEGORICAL, List.of("angry", "happy", "sad")), m.space());
        assertEquals(List.of(dir + "/a.mp4", dir + "/sub/b, c.mp4", "/abs/d.mp4", dir + "/e.mp4"), paths(m));
        assertEquals(List.of(ClipLabels.categorical(1, "train", 0), ClipLabels.categorical(0, "val", 1),
                ClipLabels.categorical(2, null, ClipLabels.NO_FOLD), ClipLabels.categorical(1, "train", 3)),
                m.entries().stream().map(Manifest.Entry::labels).toList());
        assertEquals(List.of(2, 4, 5, 6), m.entries().stream().map(Manifest.Entry::line).toList());
        assertEquals(List.of(
                "manifest " + dir.resolve("labels.csv") + ": 4 videos, categorical labels [angry, happy, sad]",
                "  class angry: 1 videos", "  class happy: 2 videos", "  class sad: 1 videos",
                "  split (none): 1 videos", "  split train: 2 videos", "  split val: 1 videos",
                "  fold (none): 1 videos", "  fold 0: 1 videos", "  fold 1: 1 videos", "  fold 3: 1 videos"),
                m.summary());
    }

    @Test
    void integerLabelsKeepTheirNamesInNumericOrder() throws IOException {
        Manifest m = read("path,label\na.mp4,10\nb.mp4,2\nc.mp4,0\nd.mp4,2\n");
        assertEquals(List.of("0", "2", "10"), m.space().names());
        assertEquals(List.of(2, 1, 0, 1), m.entries().stream().map(e -> e.labels().category()).toList());
        assertNull(m.entries().get(0).labels().split());
    }

    @Test
    void aDimensionalManifestKeepsTheHeaderOrder() throws IOException {
        Manifest m = read("path,valence,arousal,split\na.mp4,0.5,-1e-1,test\nb.mp4, 2 ,3,\n");
        assertEquals(new LabelSpace(LabelSpace.Kind.DIMENSIONAL, List.of("valence", "arousal")), m.space());
        assertEquals(ClipLabels.dimensional(new float[] {0.5f, -0.1f}, "test", ClipLabels.NO_FOLD),
                m.entries().get(0).labels());
        assertEquals(ClipLabels.dimensional(new float[] {2f, 3f}, null, ClipLabels.NO_FOLD),
                m.entries().get(1).labels());
        assertTrue(m.summary().contains("  valence: min 0.5000, mean 1.250, max 2.000"), m.summary().toString());
    }

    @Test
    void eachBadManifestNamesTheLineAndColumn() {
        assertTrue(error("").endsWith(": empty; its first line must be a header such as path,label,split,fold"));
        assertTrue(error("a.mp4,happy\nb.mp4,sad\n").contains(", line 1, header: no 'path' column in [a.mp4, happy]"));
        assertTrue(error("path,label,arousal\na.mp4,x,1\n").contains(
                ", line 1, column 'arousal': unknown column; a categorical manifest"));
        assertTrue(error("path,label,label\n").contains(", line 1, column 3: 'label' is named twice in the header"));
        assertTrue(error("path,,label\n").contains(", line 1, column 2: the header names no column here"));
        assertTrue(error("path,split\na.mp4,train\n").contains(", line 1, header: neither a 'label' column"));
        assertTrue(error("path,arousal\na.mp4,0.1\nb.mp4,high\n").contains(
                ", line 3, column 'arousal': 'high' is not a finite number"));
        assertTrue(error("path,arousal\na.mp4,NaN\n").contains(", line 2, column 'arousal': 'NaN' is not a finite"));
        assertTrue(error("path,arousal\na.mp4,\n").contains(", line 2, column 'arousal': empty value"));
        assertTrue(error("path,label,fold\na.mp4,x,one\n").contains(
                ", line 2, column 'fold': 'one' is not an integer from 0"));
        assertTrue(error("path,label,fold\na.mp4,x,-1\n").contains(", line 2, column 'fold': '-1' is not an integer"));
        assertTrue(error("path,label\na.mp4,x\n\nb.mp4, \n").contains(", line 4, column 'label': empty label"));
        assertTrue(error("path,label\n,x\n").contains(", line 2, column 'path': empty path"));
        assertTrue(error("path,label\na.mp4,x,y\n").contains(", line 2, row: 3 fields, the header has 2"));
        String twice = error("path,label\nsub/a.mp4,x\nb.mp4,y\n" + dir + "/sub/./a.mp4,z\n");
        assertTrue(twice.contains(", line 4, column 'path': ") && twice.contains("/sub/a.mp4 is listed twice, also on"
                + " line 2"), twice);
        assertTrue(error("path,label\n").endsWith(": no video listed after the header"));
        assertTrue(error("path,label\n\"a.mp4,x\n").contains("line 2: a quoted field is never closed"));
    }

    @Test
    void theListingKeepsLabelsAndQuarantinesMissingFilesNamingTheLine() throws IOException {
        Files.createDirectories(dir.resolve("sub"));
        Files.writeString(dir.resolve("sub/b, c.mp4"), "video");
        Files.writeString(dir.resolve("a.mov"), "video");
        Files.writeString(dir.resolve("unlisted.mp4"), "video");
        Manifest m = read("path,label\nmissing.mp4,x\n\"sub/b, c.mp4\",y\nsub,x\na.mov,z\n");
        InputListing.Result r = InputListing.list(m, new Configuration());
        assertEquals(List.of("a.mov", "sub/b, c.mp4"), r.files().stream().map(InputFile::source).toList());
        assertEquals(List.of(ClipLabels.categorical(2, null, -1), ClipLabels.categorical(1, null, -1)),
                r.files().stream().map(InputFile::labels).toList());
        assertEquals(dir.resolve("sub/b, c.mp4").toString(), r.files().get(1).path());
        assertEquals(List.of("missing.mp4", "sub"), r.rejected().stream().map(QuarantineRecord::source).toList());
        assertEquals(QuarantineReason.UNREADABLE, r.rejected().get(0).reason());
        assertTrue(r.rejected().get(0).detail().startsWith("listed in manifest " + dir.resolve("labels.csv")
                + " on line 2 but missing: "), r.rejected().get(0).detail());
        assertEquals(QuarantineReason.NOT_A_FILE, r.rejected().get(1).reason());
        assertEquals(4, r.seen());
    }
}
