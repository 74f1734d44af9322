package io.hicmae.zoo;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.Path;

/**
 * A model's aliases as move records: {@code <model>/_aliases/<alias>/<seq>}, one per move, each created only if
 * absent ({@link Store#createExclusive}) and holding the version the alias points at from then on. The highest
 * sequence number is the alias. Two movers that read the same head race for the same next number and exactly one
 * wins, which gives compare-and-set on every FileSystem without the conditional overwrite HDFS and S3A lack. Aliases
 * written before records existed (one file {@code <model>/aliases/<alias>}) are still read, as sequence 0.
 */
final class Aliases {
    static final String RECORDS = "_aliases";
    static final String LEGACY = "aliases";
    private static final Pattern SEQ = Pattern.compile("[0-9]{12}");
    private static final int MAX_MOVE_ATTEMPTS = 100;

    /**
     * Where an alias points now.
     *
     * @param seq the sequence number of its newest record (0: a legacy file)
     * @param location the newest record (or the legacy file)
     * @param version the version id, or null when the record is corrupt
     * @param corrupt why the record cannot be read, or null
     */
    record Head(String alias, long seq, Path location, String version, String corrupt) {}

    /** One readable move record: the alias pointed at {@code version} from {@code movedAt}. */
    record Move(long seq, Path location, String version, Instant movedAt) {}

    private final Store store;

    Aliases(Store store) {
        this.store = store;
    }

    /** Every alias of the model, intact or corrupt, by name. */
    Map<String, Head> heads(Path modelDir) throws IOException {
        Map<String, Head> out = new TreeMap<>();
        for (FileStatus s : store.list(new Path(modelDir, LEGACY))) {
            String alias = s.getPath().getName();
            if (s.isFile() && Names.isAlias(alias)) {
                out.put(alias, legacy(s.getPath()));
            }
        }
        for (FileStatus s : store.list(new Path(modelDir, RECORDS))) {
            String alias = s.getPath().getName();
            if (s.isDirectory() && Names.isAlias(alias)) {
                Head h = newest(s.getPath(), alias);
                if (h != null) {
                    out.put(alias, h);
                }
            }
        }
        return out;
    }

    /** The alias's readable move records, oldest first (for gc's grace period and record clean-up). */
    List<Move> history(Path modelDir, String alias) throws IOException {
        List<Move> moves = new ArrayList<>();
        for (FileStatus s : store.list(new Path(new Path(modelDir, RECORDS), alias))) {
            if (SEQ.matcher(s.getPath().getName()).matches()) {
                try {
                    JsonObject o = parse(s.getPath(), store.readAll(s.getPath()));
                    moves.add(new Move(Long.parseLong(s.getPath().getName()), s.getPath(),
                            o.get("version").getAsString(), Instant.parse(o.get("movedAt").getAsString())));
                } catch (CorruptFileException | FileNotFoundException e) {
                    // Listed as corrupt when it is the head; an older unreadable record is gc's like any old one.
                }
            }
        }
        moves.sort(Comparator.comparingLong(Move::seq));
        return moves;
    }

    /**
     * Points {@code alias} at {@code version} with a new record. With {@code checkExpected}, only if it points at
     * {@code expected} now (null: only if it does not exist); otherwise after whatever move is newest.
     */
    void move(Path modelDir, String model, String alias, String version, boolean checkExpected, String expected)
            throws IOException {
        Path dir = new Path(new Path(modelDir, RECORDS), alias);
        for (int attempt = 0; attempt < MAX_MOVE_ATTEMPTS; attempt++) {
            Head head = heads(modelDir).get(alias);
            String current = head == null ? null : head.version();
            if (checkExpected && (!Objects.equals(current, expected) || head != null && head.corrupt() != null)) {
                throw conflict(model, alias, expected, head);
            }
            long next = head == null ? 1 : head.seq() + 1;
            JsonObject record = new JsonObject();
            record.addProperty("version", version);
            record.addProperty("previous", current);
            record.addProperty("movedAt", store.clock.instant().toString());
            if (store.createExclusive(new Path(dir, String.format("%012d", next)),
                    record.toString().getBytes(StandardCharsets.UTF_8))) {
                return;
            }
            if (checkExpected) {
                throw conflict(model, alias, expected, heads(modelDir).get(alias));
            }
        }
        throw new ZooException("Could not move alias " + alias + " of model " + model + " at " + Store.uri(dir)
                + ": " + MAX_MOVE_ATTEMPTS + " concurrent moves won the race first");
    }

    private static ZooException conflict(String model, String alias, String expected, Head head) {
        String now = head == null ? "does not exist"
                : head.corrupt() != null ? "is corrupt (" + head.corrupt() + ")" : "points at " + head.version();
        return new ZooException("Alias " + alias + " of model " + model + " " + now + ", not "
                + (expected == null ? "absent" : expected) + " as expected: another writer moved it; nothing changed");
    }

    private Head newest(Path dir, String alias) throws IOException {
        Path newest = null;
        for (FileStatus s : store.list(dir)) {
            if (SEQ.matcher(s.getPath().getName()).matches()
                    && (newest == null || s.getPath().getName().compareTo(newest.getName()) > 0)) {
                newest = s.getPath();
            }
        }
        if (newest == null) {
            return null;
        }
        long seq = Long.parseLong(newest.getName());
        try {
            JsonObject o = parse(newest, store.readAll(newest));
            return new Head(alias, seq, newest, checkVersion(newest, o.get("version").getAsString()), null);
        } catch (CorruptFileException e) {
            return new Head(alias, seq, newest, null, e.reason());
        }
    }

    private Head legacy(Path file) throws IOException {
        String target = new String(store.readAll(file), StandardCharsets.UTF_8).trim();
        try {
            return new Head(file.getName(), 0, file, checkVersion(file, target), null);
        } catch (CorruptFileException e) {
            return new Head(file.getName(), 0, file, null, e.reason());
        }
    }

    private static JsonObject parse(Path p, byte[] bytes) throws CorruptFileException {
        try {
            JsonObject o = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8)).getAsJsonObject();
            if (!o.has("version") || !o.has("movedAt")) {
                throw new IllegalStateException("no version or movedAt field");
            }
            Instant.parse(o.get("movedAt").getAsString());
            return o;
        } catch (RuntimeException e) {
            throw new CorruptFileException("alias record", Store.uri(p), CorruptFileException.describe(e));
        }
    }

    private static String checkVersion(Path p, String target) throws CorruptFileException {
        if (!Names.VERSION_DIR.matcher(target).matches()) {
            throw new CorruptFileException("alias record", Store.uri(p), "holds " + Names.quote(target)
                    + ", not a version id");
        }
        return target;
    }
}
