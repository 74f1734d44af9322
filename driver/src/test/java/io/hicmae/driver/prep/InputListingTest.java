package io.hicmae.driver.prep;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.hicmae.driver.prep.InputListing.InputFile;
import io.hicmae.prep.QuarantineReason;
import io.hicmae.prep.QuarantineRecord;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InputListingTest {

    private static final List<String> VIDEO = List.of("mp4", "mov");

    @TempDir Path dir;
    Path root;

    @BeforeEach
    void tree() throws IOException {
        root = Files.createDirectories(dir.resolve("videos"));
        Files.createDirectories(root.resolve("a/b"));
        Files.createDirectories(root.resolve(".hidden"));
        Files.createDirectories(root.resolve("_tmp"));
        for (String f : List.of("a/1.mp4", "a/b/2.MOV", "a/notes.txt", "a/labels.csv", ".hidden/3.mp4", "_tmp/4.mp4",
                "a/.5.mp4", "top.mp4")) {
            Files.writeString(root.resolve(f), f);
        }
        Files.createDirectories(root.resolve("dir.mp4"));
    }

    private static List<String> sources(InputListing.Result r) {
        return r.files().stream().map(InputFile::source).toList();
    }

    @Test
    void aTreeListsVideosByExtensionAndSkipsHiddenNames() throws IOException {
        Files.writeString(root.resolve("dir.mp4/6.mp4"), "in a directory named like a video");
        InputListing.Result r = InputListing.list(root.toString(), new Configuration(), VIDEO);
        assertEquals(List.of("a/1.mp4", "a/b/2.MOV", "dir.mp4/6.mp4", "top.mp4"), sources(r));
        assertEquals(List.of(), r.rejected());
        assertTrue(r.files().stream().allMatch(InputFile::local));
        assertEquals(root.resolve("a/1.mp4").toString(), r.files().get(0).path());
    }

    @Test
    void aGlobIsRelativeToItsDirectoryBeforeTheFirstWildcard() throws IOException {
        InputListing.Result r = InputListing.list(root + "/a/*", new Configuration(), VIDEO);
        assertEquals(List.of("1.mp4", "b/2.MOV"), sources(r));
        assertEquals("file:" + root.resolve("a"), r.root());
    }

    @Test
    void aListFileNamesPathsRelativeToItselfOrAbsolute() throws IOException {
        Path list = Files.writeString(root.resolve("list.txt"),
                "# comment\na/1.mp4\n\n" + root.resolve("top.mp4") + "\nmissing.mp4\na\na/notes.txt\n");
        InputListing.Result r = InputListing.list(list.toString(), new Configuration(), VIDEO);
        assertEquals(List.of("a/1.mp4", "a/notes.txt", "top.mp4"), sources(r));
        assertEquals(List.of("a", "missing.mp4"), r.rejected().stream().map(QuarantineRecord::source).toList());
        assertEquals(QuarantineReason.NOT_A_FILE, r.rejected().get(0).reason());
        assertEquals(QuarantineReason.UNREADABLE, r.rejected().get(1).reason());
    }

    @Test
    void aMissingInputIsAnErrorNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> InputListing.list(dir.resolve("nope").toString(), new Configuration(), VIDEO));
        assertEquals("Invalid value " + dir.resolve("nope") + " for configuration input: no such file or directory",
                e.getMessage());
    }
}
