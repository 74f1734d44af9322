package io.hicmae.prep;

import io.hicmae.runtime.data.ClipSchema;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.Closeable;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.function.Consumer;

/**
 * Holds one video's clips until the video's outcome is known, so a video that fails half-way leaves no clips
 * behind: in memory up to a byte budget, past it in a spill file on local disk. Not thread-safe; one per decoder.
 */
public final class ClipSpool implements Consumer<ClipRecord>, Closeable {

    private static final long CLIP_BYTES = ClipSchema.FRAME_BYTES + ClipSchema.PCM_BYTES;

    private final long memoryBudget;
    private final Path spillDir;
    private final List<ClipRecord> inMemory = new ArrayList<>();
    private Path spillFile;
    private DataOutputStream spill;
    private int spilled;

    /**
     * @param memoryBudget bytes of clips kept in memory before spilling
     * @param spillDir local directory for the spill file
     */
    public ClipSpool(long memoryBudget, Path spillDir) {
        this.memoryBudget = memoryBudget;
        this.spillDir = spillDir;
    }

    @Override
    public void accept(ClipRecord clip) {
        if (spill == null && (inMemory.size() + 1) * CLIP_BYTES <= memoryBudget) {
            inMemory.add(clip);
            return;
        }
        try {
            if (spill == null) {
                spillFile = Files.createTempFile(spillDir, "clips-", ".spool");
                spill = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(spillFile), 1 << 20));
            }
            spill.writeUTF(clip.clipId());
            spill.writeUTF(clip.source());
            spill.writeInt(clip.window());
            spill.writeDouble(clip.startS());
            spill.writeDouble(clip.fps());
            spill.write(clip.frames());
            spill.write(clip.pcm());
            spilled++;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot spill clip " + clip.window() + " of " + clip.source()
                    + " to " + spillFile, e);
        }
    }

    /** Clips held. */
    public int size() {
        return inMemory.size() + spilled;
    }

    /** Whether some clips went to disk. */
    public boolean spilled() {
        return spilled > 0;
    }

    /**
     * The clips in the order they came, once; the spool is empty afterwards. Reading the spill file fails with an
     * {@link UncheckedIOException} naming it.
     */
    public Iterator<ClipRecord> drain() {
        List<ClipRecord> memory = new ArrayList<>(inMemory);
        inMemory.clear();
        int fromDisk = spilled;
        Path file = spillFile;
        DataInputStream in;
        try {
            if (spill != null) {
                spill.close();
            }
            in = file == null ? null : new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 20));
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read clip spill file " + file, e);
        }
        spill = null;
        spillFile = null;
        spilled = 0;
        return new Iterator<>() {
            private int next;

            @Override
            public boolean hasNext() {
                return next < memory.size() + fromDisk;
            }

            @Override
            public ClipRecord next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                if (next < memory.size()) {
                    return memory.set(next++, null);
                }
                try {
                    ClipRecord clip = read(in);
                    if (++next == memory.size() + fromDisk) {
                        in.close();
                        Files.deleteIfExists(file);
                    }
                    return clip;
                } catch (IOException e) {
                    throw new UncheckedIOException("Cannot read clip spill file " + file, e);
                }
            }
        };
    }

    private static ClipRecord read(DataInputStream in) throws IOException {
        String clipId = in.readUTF();
        String source = in.readUTF();
        int window = in.readInt();
        double startS = in.readDouble();
        double fps = in.readDouble();
        byte[] frames = new byte[ClipSchema.FRAME_BYTES];
        byte[] pcm = new byte[ClipSchema.PCM_BYTES];
        try {
            in.readFully(frames);
            in.readFully(pcm);
        } catch (EOFException e) {
            throw new IOException("spill file ends inside clip " + window + " of " + source, e);
        }
        return new ClipRecord(clipId, source, window, startS, fps, frames, pcm);
    }

    /** Drops every clip held, deleting the spill file. */
    public void clear() {
        inMemory.clear();
        spilled = 0;
        try {
            if (spill != null) {
                spill.close();
            }
            if (spillFile != null) {
                Files.deleteIfExists(spillFile);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete clip spill file " + spillFile, e);
        } finally {
            spill = null;
            spillFile = null;
        }
    }

    @Override
    public void close() {
        clear();
    }
}
