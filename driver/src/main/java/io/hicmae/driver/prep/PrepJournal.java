package io.hicmae.driver.prep;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * Which videos a task started decoding and did not finish, kept beside the output in {@value #DIR}/ so that a video
 * which crashes its executor (a native crash, an OOM kill, a hang the deadline cannot end) ends in the quarantine as
 * {@code crashed} instead of failing every retry of the task and every rerun of the job.
 *
 * <p>Before decoding, a task records a start: one object per video and try, {@code _journal/<sha256 of the source>/<n>},
 * created exclusively (never overwritten; on S3 one PUT each, no rename). When the video's outcome is known (clips or
 * a quarantine row) the video's entries are deleted. A video found with {@value #STARTS_BEFORE_CRASHED} unfinished
 * starts is not tried again. Two starts, not one: a job killed by its user leaves one unfinished start for each video
 * then in flight, and those videos are simply tried again by the next run.
 */
final class PrepJournal {

    /** Directory of the journal under the output root; readers skip it (leading underscore). */
    static final String DIR = "_journal";
    /** Unfinished starts after which a video is quarantined as crashed instead of tried again. */
    static final int STARTS_BEFORE_CRASHED = 2;

    private final FileSystem fs;
    private final Path dir;

    PrepJournal(FileSystem fs, Path outputRoot) {
        this.fs = fs;
        this.dir = new Path(outputRoot, DIR);
    }

    /**
     * Records that {@code who} starts decoding {@code source}, unless it was already started
     * {@value #STARTS_BEFORE_CRASHED} times without finishing.
     *
     * @return the earlier unfinished starts (who and when), oldest first; the video must not be decoded when there
     *     are {@value #STARTS_BEFORE_CRASHED} or more
     */
    List<String> begin(String source, String who) throws IOException {
        Path video = new Path(dir, key(source));
        List<String> earlier = new ArrayList<>();
        if (fs.exists(video)) {
            FileStatus[] entries = fs.listStatus(video);
            java.util.Arrays.sort(entries, java.util.Comparator.comparing(s -> s.getPath().getName()));
            for (FileStatus s : entries) {
                try (InputStream in = fs.open(s.getPath())) {
                    earlier.add(new String(in.readAllBytes(), StandardCharsets.UTF_8).trim());
                }
            }
        }
        if (earlier.size() >= STARTS_BEFORE_CRASHED) {
            return earlier;
        }
        try (OutputStream out = fs.create(new Path(video, Integer.toString(earlier.size() + 1)), false)) {
            out.write((who + " started " + source + "\n").getBytes(StandardCharsets.UTF_8));
        } catch (FileAlreadyExistsException e) {
            // another try recorded the same start number at the same time: one start more is all it means
        }
        return earlier;
    }

    /** Forgets the starts of {@code source}: its outcome is known. */
    void finish(String source) throws IOException {
        fs.delete(new Path(dir, key(source)), true);
    }

    /** The journal's name for a video: SHA-256 of its source path (any characters, fixed length). */
    static String key(String source) {
        try {
            return HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(source.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
