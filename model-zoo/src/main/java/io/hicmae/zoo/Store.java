package io.hicmae.zoo;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.Closeable;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestOutputStream;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumFileSystem;
import org.apache.hadoop.fs.FileAlreadyExistsException;
import org.apache.hadoop.fs.FSDataOutputStreamBuilder;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Options;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

import static org.apache.hadoop.fs.Options.CreateFileOptionKeys.FS_OPTION_CREATE_CONDITIONAL_OVERWRITE;

/**
 * The zoo's FileSystem and the few operations whose atomicity the store relies on, chosen per scheme:
 *
 * <ul>
 *   <li>exclusive create: O_EXCL through java.nio on a local directory (Hadoop's local create checks, then opens),
 *       the NameNode's create-if-absent on HDFS, a conditional PUT (If-None-Match) on S3A, and on other object
 *       stores a create that checks first, then reads the file back to see whose it is;
 *   <li>rename without replace: rename(2) through java.nio locally (Hadoop's local rename falls back to a copy),
 *       {@code FileContext.rename(NONE)} on HDFS (a plain FileSystem rename onto a directory moves inside it);
 *   <li>replace a small file: rename(2) locally, {@code FileContext.rename(OVERWRITE)} on HDFS, one PUT on object
 *       stores (an object PUT is atomic).
 * </ul>
 *
 * A local zoo uses the raw local FileSystem, so no {@code .crc} side files exist to go stale across a rename.
 */
final class Store implements Closeable {
    static final String SUMS = "SHA256SUMS";
    static final String MARKER = "_COMMITTED";
    static final String STAGING = ".staging";
    static final String CLAIMS = ".claims";
    static final String TMP_PREFIX = ".tmp-";
    /** Where exclusive creates write their content before moving it into place; gc clears what a kill leaves. */
    static final String TMP_DIR = ".tmp";

    enum Kind {
        LOCAL,
        HDFS,
        OBJECT
    }

    final Path root;
    final FileSystem fs;
    final Kind kind;
    final ZooConfig config;
    final Clock clock;
    final FaultHook hook;
    private final FileSystem opened;
    private final FileContext fileContext;

    private Store(Path root, FileSystem opened, FileSystem fs, Kind kind, ZooConfig config, Clock clock,
            FaultHook hook, FileContext fileContext) {
        this.root = root;
        this.opened = opened;
        this.fs = fs;
        this.kind = kind;
        this.config = config;
        this.clock = clock;
        this.hook = hook;
        this.fileContext = fileContext;
    }

    static Store open(URI rootUri, Configuration conf, Clock clock, FaultHook hook) throws IOException {
        String scheme = rootUri.getScheme();
        if (scheme == null) {
            throw new IllegalArgumentException("Invalid value " + rootUri + " for zoo root: the URI has no scheme");
        }
        ZooConfig config = ZooConfig.from(conf, scheme);
        FileSystem opened;
        try {
            opened = FileSystem.newInstance(rootUri, conf);
        } catch (IOException e) {
            throw new ZooException("Cannot open the zoo at " + rootUri + ": " + e.getMessage(), e);
        }
        Kind kind = "file".equals(scheme) ? Kind.LOCAL : "hdfs".equals(scheme) ? Kind.HDFS : Kind.OBJECT;
        FileSystem fs = opened instanceof ChecksumFileSystem ? ((ChecksumFileSystem) opened).getRawFileSystem() : opened;
        FileContext fc = kind == Kind.HDFS ? FileContext.getFileContext(fs.getUri(), conf) : null;
        Path root = fs.makeQualified(new Path(rootUri));
        return new Store(root, opened, fs, kind, config, clock, hook, fc);
    }

    static String uri(Path p) {
        return p.toUri().toString();
    }

    Path runsDir() {
        return new Path(root, "_runs");
    }

    Path tmpDir() {
        return new Path(root, TMP_DIR);
    }

    private Path newTemp() throws IOException {
        fs.mkdirs(tmpDir());
        return new Path(tmpDir(), TMP_PREFIX + UUID.randomUUID());
    }

    /**
     * Creates {@code p} holding {@code content} only if nothing is there; false if something is. Readers see the whole
     * content or no file: on a local directory and HDFS the content is written aside and moved into place without
     * replace; an object PUT is atomic.
     */
    boolean createExclusive(Path p, byte[] content) throws IOException {
        fs.mkdirs(p.getParent());
        switch (kind) {
            case LOCAL: {
                // Written aside, then link(2): exclusive like O_EXCL, and no reader ever sees a half-written file.
                java.nio.file.Path tmp = localPath(newTemp());
                Files.write(tmp, content, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                try {
                    Files.createLink(localPath(p), tmp);
                    return true;
                } catch (java.nio.file.FileAlreadyExistsException e) {
                    return false;
                } finally {
                    Files.deleteIfExists(tmp);
                }
            }
            case HDFS: {
                // Written aside, then a rename that refuses to replace (the NameNode's check and move are one step).
                Path tmp = newTemp();
                try (OutputStream out = fs.create(tmp, false)) {
                    out.write(content);
                }
                try {
                    fileContext.rename(tmp, p, Options.Rename.NONE);
                    return true;
                } catch (FileAlreadyExistsException e) {
                    return false;
                } finally {
                    fs.delete(tmp, false);
                }
            }
            default:
                if (fs.exists(p)) {
                    return false;
                }
                boolean s3a = "s3a".equals(root.toUri().getScheme());
                // S3A sends If-None-Match: * (fs.s3a.create.conditional.enabled, on by default): S3 itself refuses
                // the second of two racing creates. Other stores get the check above and the read-back below.
                try (OutputStream out = s3a ? createIfNoneMatch(p) : fs.create(p, false)) {
                    out.write(content);
                } catch (FileAlreadyExistsException e) {
                    return false;
                } catch (IOException e) {
                    if (lostConditionalCreate(e)) {
                        return false;
                    }
                    throw e;
                }
                return Arrays.equals(readAll(p), content);
        }
    }

    private OutputStream createIfNoneMatch(Path p) throws IOException {
        FSDataOutputStreamBuilder<?, ?> builder = fs.createFile(p);
        return builder.overwrite(false).must(FS_OPTION_CREATE_CONDITIONAL_OVERWRITE, true).build();
    }

    /** S3's answers to a conditional create that lost: 412 Precondition Failed, or 409 for two at once. */
    private static boolean lostConditionalCreate(IOException e) {
        String message = String.valueOf(e.getMessage());
        return e.getClass().getSimpleName().equals("RemoteFileChangedException")
                || message.contains("PreconditionFailed") || message.contains("ConditionalRequestConflict");
    }

    /** Renames directory {@code src} to {@code dst}, failing if {@code dst} exists; never merges the two. */
    void renameNoReplace(Path src, Path dst) throws IOException {
        switch (kind) {
            case LOCAL:
                try {
                    Files.move(localPath(src), localPath(dst), StandardCopyOption.ATOMIC_MOVE);
                } catch (java.nio.file.FileSystemException e) {
                    // rename(2) replaces only an empty directory; a version or checkpoint is never empty.
                    throw new ZooException("Cannot commit " + uri(src) + " as " + uri(dst) + ": "
                            + (Files.exists(localPath(dst)) ? "it already exists" : e.getMessage()), e);
                }
                return;
            case HDFS:
                try {
                    fileContext.rename(src, dst, Options.Rename.NONE);
                } catch (FileAlreadyExistsException e) {
                    throw new ZooException("Cannot commit " + uri(src) + ": " + uri(dst) + " already exists", e);
                }
                return;
            default:
                throw new IllegalStateException("rename commit on " + root.toUri().getScheme() + " is refused by config");
        }
    }

    /** Replaces the small file {@code dst} so that readers see the old or the new content, never a mix. */
    void replace(Path dst, byte[] content) throws IOException {
        if (kind == Kind.OBJECT) {
            try (OutputStream out = fs.create(dst, true)) {
                out.write(content);
            }
            return;
        }
        Path tmp = new Path(dst.getParent(), TMP_PREFIX + UUID.randomUUID());
        try (OutputStream out = fs.create(tmp, false)) {
            out.write(content);
        }
        try {
            if (kind == Kind.LOCAL) {
                Files.move(localPath(tmp), localPath(dst), StandardCopyOption.ATOMIC_MOVE);
            } else {
                fileContext.rename(tmp, dst, Options.Rename.OVERWRITE);
            }
        } catch (IOException e) {
            fs.delete(tmp, false);
            throw e;
        }
    }

    /** Writes {@code p} and returns the SHA-256 of what was written. */
    String write(Path p, ContentWriter writer) throws IOException {
        var digest = Sha256.newDigest();
        try (OutputStream out = new DigestOutputStream(fs.create(p, true), digest)) {
            writer.writeTo(out);
        }
        return Sha256.hex(digest);
    }

    byte[] readAll(Path p) throws IOException {
        try (InputStream in = fs.open(p)) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        }
    }

    Optional<byte[]> readIfExists(Path p) throws IOException {
        try {
            return Optional.of(readAll(p));
        } catch (FileNotFoundException e) {
            return Optional.empty();
        }
    }

    /** The entries of {@code dir}, or none if it does not exist. */
    List<FileStatus> list(Path dir) throws IOException {
        try {
            return Arrays.asList(fs.listStatus(dir));
        } catch (FileNotFoundException e) {
            return List.of();
        }
    }

    /** Every file under {@code dir}, as paths relative to it. */
    List<String> listFilesRecursive(Path dir) throws IOException {
        List<String> names = new ArrayList<>();
        String prefix = dir.toUri().getPath() + "/";
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(dir, true);
        while (it.hasNext()) {
            String path = it.next().getPath().toUri().getPath();
            names.add(path.startsWith(prefix) ? path.substring(prefix.length()) : path);
        }
        return names;
    }

    /** The newest modification time of {@code p} or anything under it: how long ago a writer last touched it. */
    Instant lastTouched(Path p) throws IOException {
        FileStatus status = fs.getFileStatus(p);
        long newest = status.getModificationTime();
        if (status.isDirectory()) {
            RemoteIterator<LocatedFileStatus> it = fs.listFiles(p, true);
            while (it.hasNext()) {
                newest = Math.max(newest, it.next().getModificationTime());
            }
        }
        return Instant.ofEpochMilli(newest);
    }

    /** Reads the commit marker of {@code dir}, or empty when the directory is not committed. */
    Optional<Marker> marker(Path dir) throws IOException {
        Optional<byte[]> bytes = readIfExists(new Path(dir, MARKER));
        if (bytes.isEmpty()) {
            return Optional.empty();
        }
        try {
            JsonObject json = JsonParser.parseString(new String(bytes.get(), StandardCharsets.UTF_8)).getAsJsonObject();
            String sums = json.get("sums").getAsString();
            if (!sums.matches("[0-9a-f]{64}")) {
                throw new IllegalStateException("sums is not a SHA-256: " + Names.quote(sums));
            }
            Long epoch = json.has("epoch") ? json.get("epoch").getAsLong() : null;
            return Optional.of(new Marker(sums, Instant.parse(json.get("committedAt").getAsString()), epoch));
        } catch (RuntimeException e) {
            throw new CorruptFileException("commit marker", uri(new Path(dir, MARKER)),
                    CorruptFileException.describe(e));
        }
    }

    /**
     * What a commit marker records: the SHA-256 of the directory's SHA256SUMS, when it was committed and, for a
     * checkpoint, the lease epoch of its writer (null before leases, and for versions).
     */
    record Marker(String sumsDigest, Instant committedAt, Long epoch) {}

    /** Whether {@code dir} holds a commit marker file, readable or not. */
    boolean hasMarker(Path dir) throws IOException {
        return fs.exists(new Path(dir, MARKER));
    }

    /** Deletes a local directory tree, if it exists. */
    static void deleteLocal(java.nio.file.Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (java.util.stream.Stream<java.nio.file.Path> walk = Files.walk(dir)) {
            for (java.nio.file.Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private static java.nio.file.Path localPath(Path p) {
        return Paths.get(p.toUri());
    }

    @Override
    public void close() throws IOException {
        opened.close();
    }
}
