package io.hicmae.driver.prep;

import io.hicmae.driver.prep.InputListing.InputFile;
import io.hicmae.prep.ClipRecord;
import io.hicmae.prep.ClipSampler;
import io.hicmae.prep.ClipSpool;
import io.hicmae.prep.DecodeOutcome;
import io.hicmae.prep.FfmpegNatives;
import io.hicmae.prep.QuarantineReason;
import io.hicmae.prep.QuarantineRecord;
import io.hicmae.prep.VideoClipDecoder;
import io.hicmae.runtime.data.ClipLabels;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Collections;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.stream.Stream;
import org.apache.spark.TaskContext;
import org.apache.spark.api.java.function.FlatMapFunction;
import org.apache.spark.broadcast.Broadcast;
import org.apache.spark.sql.Row;
import org.apache.spark.util.CollectionAccumulator;
import org.apache.spark.util.LongAccumulator;
import org.apache.spark.util.SerializableConfiguration;

/**
 * The executor side of prep: decodes one partition of videos into clip rows, lazily, one video at a time (one
 * {@link VideoClipDecoder} per task; a remote video is first copied to the executor's disk, and the copy and the
 * decode each have the per-video deadline, and a copy the byte limit {@link RemoteCopy#MAX_BYTES}). A quarantined
 * video's clips are dropped and its row goes to the quarantine accumulator. Each video's start and end are recorded
 * in the output's {@link PrepJournal}, so a video that keeps killing its task ends in the quarantine as
 * {@code crashed}.
 */
final class DecodePartition implements FlatMapFunction<Iterator<InputFile>, Row> {

    /**
     * Test-only fault hook: a task that comes to the video with this source path halts its JVM at once, as a native
     * crash would (the executor-crash integration test sets it through {@code spark.executorEnv}).
     */
    static final String HALT_ON_ENV = "HICMAE_TEST_PREP_HALT_ON";

    private final PrepConfig config;
    private final String outputRoot;
    private final Broadcast<SerializableConfiguration> hadoopConf;
    private final LongAccumulator videosDone;
    private final LongAccumulator clips;
    private final LongAccumulator quarantined;
    private final CollectionAccumulator<QuarantineRecord> quarantine;

    /** @param outputRoot the qualified output root, where the journal lives */
    DecodePartition(PrepConfig config, String outputRoot, Broadcast<SerializableConfiguration> hadoopConf,
            LongAccumulator videosDone, LongAccumulator clips, LongAccumulator quarantined,
            CollectionAccumulator<QuarantineRecord> quarantine) {
        this.config = config;
        this.outputRoot = outputRoot;
        this.hadoopConf = hadoopConf;
        this.videosDone = videosDone;
        this.clips = clips;
        this.quarantined = quarantined;
        this.quarantine = quarantine;
    }

    @Override
    public Iterator<Row> call(Iterator<InputFile> files) throws IOException {
        FfmpegNatives.ensureLoaded(); // a machine without FFmpeg fails the task, never quarantines videos
        Path tmp = Files.createTempDirectory("hicmae-prep-");
        org.apache.hadoop.conf.Configuration conf = hadoopConf.value().value();
        RemoteCopy copier = new RemoteCopy(conf, config.decodeTimeout(), RemoteCopy.MAX_BYTES);
        org.apache.hadoop.fs.Path root = new org.apache.hadoop.fs.Path(outputRoot);
        PrepJournal journal = new PrepJournal(root.getFileSystem(conf), root);
        TaskContext task = TaskContext.get();
        String who = task == null ? "a task" : "task " + task.stageId() + "." + task.partitionId() + " attempt "
                + task.attemptNumber() + " on executor " + org.apache.spark.SparkEnv.get().executorId();
        if (task != null) {
            task.addTaskCompletionListener((org.apache.spark.util.TaskCompletionListener) ctx -> {
                copier.close();
                deleteTree(tmp);
            });
        }
        VideoClipDecoder decoder = new VideoClipDecoder(
                new ClipSampler(config.windowStride()), config.decodeTimeout(), Clock.systemUTC());
        ClipSpool spool = new ClipSpool((long) config.spoolMemoryMb() << 20, tmp);
        return new Iterator<>() {
            private Iterator<ClipRecord> current = Collections.emptyIterator();
            private ClipLabels labels;

            @Override
            public boolean hasNext() {
                while (!current.hasNext() && files.hasNext()) {
                    InputFile f = files.next();
                    labels = f.labels();
                    current = decodeOne(f);
                }
                return current.hasNext();
            }

            @Override
            public Row next() {
                if (!hasNext()) {
                    throw new NoSuchElementException();
                }
                return ClipRows.clip(current.next(), labels);
            }

            private Iterator<ClipRecord> decodeOne(InputFile f) {
                DecodeOutcome outcome;
                try {
                    List<String> earlier = journal.begin(f.source(), who + " at " + java.time.Instant.now());
                    if (earlier.size() >= PrepJournal.STARTS_BEFORE_CRASHED) {
                        outcome = DecodeOutcome.quarantined(f.source(), 0, QuarantineReason.CRASHED, "decoding "
                                + f.path() + " was started " + earlier.size() + " times and never finished (the task"
                                + " or its executor died each time; not tried again): " + String.join("; ", earlier));
                    } else {
                        if (f.source().equals(System.getenv(HALT_ON_ENV))) {
                            Runtime.getRuntime().halt(134);
                        }
                        outcome = decodeOrQuarantine(f, decoder, spool, copier, tmp);
                    }
                    journal.finish(f.source());
                } catch (IOException e) {
                    throw new UncheckedIOException("Cannot record " + f.source() + " in the prep journal under "
                            + outputRoot, e);
                }
                videosDone.add(1);
                if (outcome.isQuarantined()) {
                    spool.clear();
                    quarantined.add(1);
                    quarantine.add(outcome.quarantine());
                    return Collections.emptyIterator();
                }
                clips.add(outcome.clips());
                return spool.drain();
            }
        };
    }

    /** Copies {@code f} to local disk when it is remote, then decodes it into {@code spool}. */
    private DecodeOutcome decodeOrQuarantine(InputFile f, VideoClipDecoder decoder, ClipSpool spool,
            RemoteCopy copier, Path tmp) {
        Path local = null;
        try {
            local = f.local() ? Path.of(f.path()) : copier.fetch(f.path(), tmp);
            return local != null ? decoder.decode(local, f.source(), spool)
                    : DecodeOutcome.quarantined(f.source(), 0, QuarantineReason.TIMEOUT, "copying " + f.path()
                            + " to the executor took longer than the deadline of " + config.decodeTimeout());
        } catch (RemoteCopy.TooLarge e) {
            return DecodeOutcome.quarantined(f.source(), 0, QuarantineReason.TOO_LARGE, e.getMessage());
        } catch (IOException e) {
            return DecodeOutcome.quarantined(f.source(), 0, QuarantineReason.IO_ERROR,
                    "cannot copy " + f.path() + " to the executor: " + e);
        } finally {
            if (!f.local() && local != null) {
                local.toFile().delete();
            }
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete executor scratch directory " + dir, e);
        }
    }
}
