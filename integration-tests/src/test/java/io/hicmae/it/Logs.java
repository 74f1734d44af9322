package io.hicmae.it;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Bounded tails of process logs, for error messages. */
public final class Logs {
    /** The most of one log an error message quotes. */
    static final int TAIL_BYTES = 6_000;

    private Logs() {}

    /** The last {@link #TAIL_BYTES} of {@code log}, from a line start, headed by the file's path. */
    public static String tail(Path log) {
        if (!Files.exists(log)) {
            return "\n--- " + log + ": no log written ---";
        }
        try (RandomAccessFile f = new RandomAccessFile(log.toFile(), "r")) {
            long size = f.length();
            long from = Math.max(0, size - TAIL_BYTES);
            byte[] bytes = new byte[(int) (size - from)];
            f.seek(from);
            f.readFully(bytes);
            String text = new String(bytes, StandardCharsets.UTF_8);
            if (from > 0) {
                text = text.substring(text.indexOf('\n') + 1);
            }
            String head = from > 0 ? " (last " + bytes.length + " of " + size + " bytes)" : "";
            return "\n--- " + log + head + " ---\n" + text + "--- end of " + log.getFileName() + " ---";
        } catch (IOException e) {
            return "\n--- " + log + ": unreadable: " + e + " ---";
        }
    }

    /** The complete lines of {@code log} so far (a line still being written is left out). */
    static String completeLines(Path log) throws IOException {
        if (!Files.exists(log)) {
            return "";
        }
        String text = Files.readString(log, StandardCharsets.UTF_8);
        return text.substring(0, text.lastIndexOf('\n') + 1);
    }

    /** The whole text of each log, one after the other. */
    static String readAll(List<Path> logs) throws IOException {
        StringBuilder all = new StringBuilder();
        for (Path log : logs) {
            all.append(Files.readString(log, StandardCharsets.UTF_8));
        }
        return all.toString();
    }
}
