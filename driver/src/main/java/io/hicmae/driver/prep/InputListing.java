package io.hicmae.driver.prep;

import io.hicmae.prep.QuarantineReason;
import io.hicmae.prep.QuarantineRecord;
import io.hicmae.runtime.data.ClipLabels;
import java.io.BufferedReader;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Serializable;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.LocatedFileStatus;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.RemoteIterator;

/**
 * Lists a job's videos on the driver. Input is a directory tree, a glob, or a {@code .txt}/{@code .list} file of
 * paths. In a tree or a glob, only files with a video extension are inputs, names starting with '.' or '_' are
 * skipped, and directories are descended into, never inputs; a list file's entries are all inputs. A symlink is
 * followed only while its target stays inside the input root; otherwise, like any file that is not a regular file,
 * it goes straight to the quarantine as {@code not_a_file}.
 *
 * <p>A {@link Manifest} lists its videos like a list file (sources relative to the manifest's directory), and each
 * listed video keeps its labels. A listed file that does not exist goes to the quarantine as {@code unreadable},
 * one that is a directory as {@code not_a_file}, each naming the list and line, so no listed video is dropped
 * silently.
 */
final class InputListing {

    /**
     * One video to decode.
     *
     * @param path a local absolute path when {@code local}, else a Hadoop URI
     * @param source the path relative to the input root, '/'-separated
     * @param local whether the file is on the local file system
     * @param labels the video's labels from a manifest, or null
     */
    record InputFile(String path, String source, boolean local, ClipLabels labels) implements Serializable {
        InputFile(String path, String source, boolean local) {
            this(path, source, local, null);
        }
    }

    /**
     * What the listing found.
     *
     * @param root the input root sources are relative to
     * @param files videos to decode, sorted by source
     * @param rejected inputs quarantined without decoding
     */
    record Result(String root, List<InputFile> files, List<QuarantineRecord> rejected) {
        int seen() {
            return files.size() + rejected.size();
        }
    }

    private final Configuration conf;
    private final List<String> extensions;
    private final Map<String, InputFile> files = new LinkedHashMap<>();
    private final Map<String, QuarantineRecord> rejected = new LinkedHashMap<>();

    private InputListing(Configuration conf, List<String> extensions) {
        this.conf = conf;
        this.extensions = extensions;
    }

    /** Lists {@code input}; fails naming it when it does not exist or cannot be listed. */
    static Result list(String input, Configuration conf, List<String> extensions) throws IOException {
        return new InputListing(conf, extensions).run(input);
    }

    /** Lists the videos of a manifest, with their labels; its entries are all inputs, whatever their extension. */
    static Result list(Manifest manifest, Configuration conf) throws IOException {
        InputListing listing = new InputListing(conf, List.of());
        for (Manifest.Entry e : manifest.entries()) {
            String where = "listed in manifest " + manifest.file() + " on line " + e.line();
            listing.addListed(manifest.root(), e.path(), where, e.labels());
        }
        return listing.result(manifest.root());
    }

    private Result run(String input) throws IOException {
        Path path = new Path(input);
        FileSystem fs = path.getFileSystem(conf);
        Path root;
        if (isGlob(input)) {
            root = path;
            while (root != null && isGlob(root.toString())) {
                root = root.getParent();
            }
            if (root == null) {
                throw PrepConfig.invalid(PrepConfig.INPUT, input, "a glob needs a directory before its first wildcard");
            }
            root = fs.makeQualified(root);
            FileStatus[] matches = fs.globStatus(path);
            for (FileStatus m : matches == null ? new FileStatus[0] : matches) {
                if (isHidden(m.getPath().getName())) {
                    continue;
                }
                if (m.isDirectory()) {
                    listTree(fs, root, m.getPath());
                } else {
                    addCandidate(fs, root, m);
                }
            }
        } else {
            FileStatus status;
            try {
                status = fs.getFileStatus(path);
            } catch (FileNotFoundException e) {
                throw PrepConfig.invalid(PrepConfig.INPUT, input, "no such file or directory");
            }
            Path qualified = status.getPath();
            if (status.isDirectory()) {
                root = qualified;
                listTree(fs, root, root);
            } else if (isListFile(qualified.getName())) {
                root = qualified.getParent();
                readList(fs, root, qualified);
            } else {
                root = qualified.getParent();
                addCandidate(fs, root, status);
            }
        }
        return result(root);
    }

    private Result result(Path root) {
        List<InputFile> sorted = new ArrayList<>(files.values());
        sorted.sort(Comparator.comparing(InputFile::source));
        List<QuarantineRecord> bad = new ArrayList<>(rejected.values());
        bad.sort(Comparator.comparing(QuarantineRecord::source));
        return new Result(root.toString(), sorted, bad);
    }

    private static boolean isGlob(String s) {
        return s.chars().anyMatch(c -> c == '*' || c == '?' || c == '[' || c == '{');
    }

    private static boolean isListFile(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.endsWith(".txt") || lower.endsWith(".list");
    }

    private boolean isVideoName(String name) {
        int dot = name.lastIndexOf('.');
        return dot > 0 && extensions.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
    }

    private static boolean isHidden(String name) {
        return name.startsWith(".") || name.startsWith("_");
    }

    private static boolean isLocal(FileSystem fs) {
        return "file".equals(fs.getUri().getScheme());
    }

    private static String relative(Path root, Path file) {
        String r = root.toUri().getPath();
        String f = file.toUri().getPath();
        String prefix = r.endsWith("/") ? r : r + "/";
        return f.startsWith(prefix) ? f.substring(prefix.length()) : file.toUri().toString();
    }

    private void accept(InputFile f) {
        if (!rejected.containsKey(f.source())) {
            files.putIfAbsent(f.source(), f);
        }
    }

    private void reject(String source, QuarantineReason reason, String detail) {
        if (!files.containsKey(source)) {
            rejected.putIfAbsent(source, new QuarantineRecord(source, reason, detail));
        }
    }

    private void listTree(FileSystem fs, Path root, Path dir) throws IOException {
        if (isLocal(fs)) {
            listLocalTree(java.nio.file.Path.of(root.toUri().getPath()), java.nio.file.Path.of(dir.toUri().getPath()));
            return;
        }
        RemoteIterator<LocatedFileStatus> it = fs.listFiles(dir, true);
        while (it.hasNext()) {
            LocatedFileStatus s = it.next();
            String rel = relative(dir, s.getPath());
            if (List.of(rel.split("/")).stream().noneMatch(InputListing::isHidden)) {
                addCandidate(fs, root, s);
            }
        }
    }

    private void addCandidate(FileSystem fs, Path root, FileStatus s) throws IOException {
        if (!isVideoName(s.getPath().getName())) {
            return;
        }
        if (isLocal(fs)) {
            java.nio.file.Path local = java.nio.file.Path.of(s.getPath().toUri().getPath());
            java.nio.file.Path localRoot = java.nio.file.Path.of(root.toUri().getPath());
            addLocal(localRoot, local, Files.readAttributes(local, BasicFileAttributes.class,
                    java.nio.file.LinkOption.NOFOLLOW_LINKS));
            return;
        }
        String source = relative(root, s.getPath());
        if (s.isSymlink()) {
            Path target = s.getSymlink();
            if (!relative(root, target).equals(target.toUri().toString())) {
                accept(new InputFile(fs.makeQualified(target).toUri().toString(), source, false));
            } else {
                reject(source, QuarantineReason.NOT_A_FILE, "symlink " + s.getPath() + " leads outside the input root");
            }
        } else if (s.isFile()) {
            accept(new InputFile(s.getPath().toUri().toString(), source, false));
        } else {
            reject(source, QuarantineReason.NOT_A_FILE, "not a regular file: " + s.getPath());
        }
    }

    private void listLocalTree(java.nio.file.Path root, java.nio.file.Path dir) throws IOException {
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(java.nio.file.Path d, BasicFileAttributes attrs) {
                return !d.equals(dir) && isHidden(d.getFileName().toString())
                        ? FileVisitResult.SKIP_SUBTREE
                        : FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(java.nio.file.Path file, BasicFileAttributes attrs) {
                String name = file.getFileName().toString();
                if (!isHidden(name) && isVideoName(name)) {
                    addLocal(root, file, attrs);
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(java.nio.file.Path file, IOException e) throws IOException {
                if (Files.isDirectory(file, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
                    throw new IOException("Cannot list input directory " + file + ": " + e.getMessage(), e);
                }
                if (isVideoName(file.getFileName().toString())) {
                    reject(root.relativize(file).toString(), QuarantineReason.UNREADABLE, file + ": " + e);
                }
                return FileVisitResult.CONTINUE;
            }
        });
    }

    private void addLocal(java.nio.file.Path root, java.nio.file.Path file, BasicFileAttributes attrs) {
        String source = root.relativize(file).toString();
        if (attrs.isSymbolicLink()) {
            java.nio.file.Path target;
            try {
                target = file.toRealPath();
            } catch (IOException e) {
                reject(source, QuarantineReason.NOT_A_FILE, "dangling symlink " + file);
                return;
            }
            java.nio.file.Path realRoot;
            try {
                realRoot = root.toRealPath();
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("Cannot resolve input root " + root, e);
            }
            if (!target.startsWith(realRoot)) {
                reject(source, QuarantineReason.NOT_A_FILE,
                        "symlink " + file + " leads outside the input root to " + target + "; not followed");
            } else if (!Files.isRegularFile(target)) {
                reject(source, QuarantineReason.NOT_A_FILE, "symlink " + file + " leads to " + target
                        + ", not a regular file");
            } else {
                accept(new InputFile(target.toString(), source, true));
            }
        } else if (attrs.isRegularFile()) {
            accept(new InputFile(file.toAbsolutePath().toString(), source, true));
        } else {
            reject(source, QuarantineReason.NOT_A_FILE, "not a regular file: " + file);
        }
    }

    private void readList(FileSystem fs, Path root, Path listFile) throws IOException {
        try (BufferedReader r = new BufferedReader(
                new InputStreamReader(fs.open(listFile), StandardCharsets.UTF_8))) {
            String line;
            while ((line = r.readLine()) != null) {
                String entry = line.strip();
                if (entry.isEmpty() || entry.startsWith("#")) {
                    continue;
                }
                addListed(root, resolveListed(root, entry), "listed in " + listFile, null);
            }
        }
    }

    /** An entry of a list or manifest: relative to {@code root} unless it is absolute (a path or a URI). */
    static Path resolveListed(Path root, String entry) {
        URI uri = URI.create(new Path(entry).toUri().toString());
        return uri.isAbsolute() || entry.startsWith("/") ? new Path(uri) : new Path(root, new Path(uri));
    }

    /** Adds a file a list or manifest names ({@code where}), quarantining it when missing or a directory. */
    private void addListed(Path root, Path p, String where, ClipLabels labels) throws IOException {
        FileSystem entryFs = p.getFileSystem(conf);
        Path q = entryFs.makeQualified(p);
        FileStatus s;
        try {
            s = entryFs.getFileStatus(q);
        } catch (FileNotFoundException e) {
            reject(relative(root, q), QuarantineReason.UNREADABLE, where + " but missing: " + q);
            return;
        }
        if (s.isDirectory()) {
            reject(relative(root, q), QuarantineReason.NOT_A_FILE, where + " but a directory: " + q);
        } else if (isLocal(entryFs)) {
            java.nio.file.Path local = java.nio.file.Path.of(q.toUri().getPath());
            accept(new InputFile(local.toString(), relative(root, q), true, labels));
        } else {
            accept(new InputFile(q.toUri().toString(), relative(root, q), false, labels));
        }
    }
}
