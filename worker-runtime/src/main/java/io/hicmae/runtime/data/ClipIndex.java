package io.hicmae.runtime.data;

import org.apache.hadoop.conf.Configuration;

import java.io.IOException;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Where every clip of a dataset lives, and which clips each rank reads in which order in each epoch.
 *
 * <p>Built once per run from the Parquet footers only (no clip data is read). A clip's position is a long packing
 * the global row group index (row groups of all files, files sorted by URI) and the row within that row group; see
 * {@link #rowGroupOf(long)} and {@link #rowOf(long)}. Every rank must build the index from the same finished dataset,
 * so all ranks see the same positions.
 *
 * <p>The order of epoch e for seed s ({@link #epochOrder}), with N clips, n slots and k = floor(N / n). A slot is a
 * stream of micro-batches (one per step): with one micro-batch per rank per step, slot r is rank r; with more, each
 * rank runs several slots, and any number of ranks dividing n reads the same clips in the same order:
 *
 * <ol>
 *   <li>The row groups are permuted by a generator seeded from (s, e) and their rows concatenated in row order.
 *   <li>Slot r takes the contiguous slice [r k, (r + 1) k) of that sequence, so every slot gets exactly k clips and
 *       the slots' slices are disjoint. The last N - n k clips of the sequence are dropped; which clips those are
 *       changes with the permutation, i.e. with the epoch.
 *   <li>Within its slice, a slot shuffles the clips of each run of {@code shuffleRowGroups} consecutive row groups
 *       (a shuffle window) with a generator seeded from (s, e, r, window).
 * </ol>
 *
 * <p>{@link #restrict} gives the same order over a subset of the clips (fine-tuning's training split or folds): the
 * row groups keep their places in the permutation, each contributing only its selected rows.
 *
 * <p>Why not the strided split [r, r + n, r + 2n, ...] of a clip-level permutation: clips live in row groups that are
 * fetched whole (a row group is Parquet's unit of I/O), so a clip-level permutation would fetch a row group per clip,
 * and a strided split would make every rank fetch every row group. A contiguous slice of a row-group permutation has
 * each rank fetch about 1 / n of the data, with at most two ranks sharing a row group at a slice boundary. The price
 * is a coarser shuffle: a batch mixes clips of about {@code shuffleRowGroups} row groups, not of the whole dataset.
 * The rank's steps per epoch are floor(k / batch) = floor(N / (n batch)), equal on every rank; the last
 * k - steps batch clips of each rank's order are dropped too (again different clips each epoch).
 */
public final class ClipIndex {

    private final String dataset;
    private final List<String> files;
    private final int[] groupFile;
    private final int[] groupBlock;
    private final int[] groupRows;
    /** The rows of each row group that the order uses, ascending; null: all rows. */
    private final int[][] selected;
    private final long clips;

    private ClipIndex(String dataset, List<String> files, int[] groupFile, int[] groupBlock, int[] groupRows,
            int[][] selected) {
        this.dataset = dataset;
        this.files = List.copyOf(files);
        this.groupFile = groupFile;
        this.groupBlock = groupBlock;
        this.groupRows = groupRows;
        this.selected = selected;
        long n = 0;
        for (int g = 0; g < groupRows.length; g++) {
            n += selectedRows(g);
        }
        this.clips = n;
    }

    /**
     * The same dataset with only {@code positions} in the order ({@link #epochOrder}, {@link #clipCount()},
     * {@link #stepsPerEpoch}); files and row groups stay as they are.
     *
     * @throws IllegalArgumentException when a position is not in the dataset or is given twice
     */
    public ClipIndex restrict(long[] positions) {
        int[] counts = new int[groupRows.length];
        long[] sorted = positions.clone();
        java.util.Arrays.sort(sorted);
        for (int i = 0; i < sorted.length; i++) {
            int g = rowGroupOf(sorted[i]);
            int row = rowOf(sorted[i]);
            if (g < 0 || g >= groupRows.length || row < 0 || row >= groupRows[g]) {
                throw new IllegalArgumentException("position " + sorted[i] + " (row group " + g + ", row " + row
                        + ") is not in " + dataset);
            }
            if (i > 0 && sorted[i] == sorted[i - 1]) {
                throw new IllegalArgumentException("position " + sorted[i] + " is selected twice");
            }
            counts[g]++;
        }
        int[][] rows = new int[groupRows.length][];
        int i = 0;
        for (int g = 0; g < rows.length; g++) {
            rows[g] = new int[counts[g]];
            for (int r = 0; r < counts[g]; r++) {
                rows[g][r] = rowOf(sorted[i++]);
            }
        }
        return new ClipIndex(dataset, files, groupFile, groupBlock, groupRows, rows);
    }

    private int selectedRows(int g) {
        return selected == null ? groupRows[g] : selected[g].length;
    }

    private int selectedRow(int g, int i) {
        return selected == null ? i : selected[g][i];
    }

    /**
     * Lists the data files of a finished dataset ({@link ClipShardReader#dataFiles}) and reads their footers.
     *
     * @param datasetUri the dataset directory on any Hadoop file system
     * @throws ClipFormatException when a file lacks a column, or the dataset holds no clip
     */
    public static ClipIndex build(String datasetUri, Configuration conf) throws IOException {
        List<String> files = ClipShardReader.dataFiles(datasetUri, conf);
        long[][] sizes = new long[files.size()][];
        int groups = 0;
        for (int f = 0; f < files.size(); f++) {
            sizes[f] = ClipShardReader.rowGroupSizes(files.get(f), conf);
            groups += sizes[f].length;
        }
        int[] groupFile = new int[groups];
        int[] groupBlock = new int[groups];
        int[] groupRows = new int[groups];
        int g = 0;
        for (int f = 0; f < files.size(); f++) {
            for (int b = 0; b < sizes[f].length; b++) {
                if (sizes[f][b] > Integer.MAX_VALUE) {
                    throw new ClipFormatException(files.get(f), "row group " + b + " has " + sizes[f][b] + " rows");
                }
                groupFile[g] = f;
                groupBlock[g] = b;
                groupRows[g] = (int) sizes[f][b];
                g++;
            }
        }
        ClipIndex index = new ClipIndex(datasetUri, files, groupFile, groupBlock, groupRows, null);
        if (index.clips == 0) {
            throw new ClipFormatException(datasetUri, "holds no clip (" + files.size() + " data files)");
        }
        return index;
    }

    /** The dataset directory's URI. */
    public String dataset() {
        return dataset;
    }

    /** The data files, sorted by URI. */
    public List<String> files() {
        return files;
    }

    /** N: clips in the dataset (or in the {@link #restrict restricted} selection). */
    public long clipCount() {
        return clips;
    }

    /** Row groups of all files. */
    public int rowGroupCount() {
        return groupRows.length;
    }

    /** The file of a global row group. */
    public String fileOf(int rowGroup) {
        return files.get(groupFile[rowGroup]);
    }

    /** A global row group's index within its file. */
    public int blockOf(int rowGroup) {
        return groupBlock[rowGroup];
    }

    /** Rows stored in a global row group (selected or not). */
    public int rowsOf(int rowGroup) {
        return groupRows[rowGroup];
    }

    /** The position of a row of a global row group. */
    public static long position(int rowGroup, int row) {
        return ((long) rowGroup << 32) | (row & 0xffffffffL);
    }

    /** The global row group of a position. */
    public static int rowGroupOf(long position) {
        return (int) (position >>> 32);
    }

    /** The row within its row group of a position. */
    public static int rowOf(long position) {
        return (int) position;
    }

    /** k = floor(N / ranks): clips each rank (or slot) reads per epoch. */
    public long clipsPerRank(int ranks) {
        checkRanks(0, ranks);
        return clips / ranks;
    }

    /** floor(N / (ranks batch)): optimiser steps per epoch, the same on every rank. */
    public int stepsPerEpoch(int ranks, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("Invalid value " + batchSize
                    + " for configuration batch-size: must be at least 1");
        }
        return Math.toIntExact(clipsPerRank(ranks) / batchSize);
    }

    /**
     * What one rank reads in epoch {@code epoch} from step {@code fromStep} on, in serving order: for each step s in
     * [fromStep, steps), the {@code batch} clips of each of the slots [firstSlot, firstSlot + count) in slot order,
     * slot j's micro-batch of step s being clips [s batch, (s + 1) batch) of its {@link #epochOrder}.
     *
     * @param slots micro-batches per step over all ranks
     * @param steps steps of the epoch, at most floor(k / batch)
     */
    public long[] servingOrder(long seed, int epoch, int firstSlot, int count, int slots, int batch, int fromStep,
            int steps, int shuffleRowGroups) {
        long[][] orders = new long[count][];
        for (int j = 0; j < count; j++) {
            orders[j] = epochOrder(seed, epoch, firstSlot + j, slots, shuffleRowGroups);
        }
        long[] out = new long[Math.multiplyExact(Math.multiplyExact(steps - fromStep, count), batch)];
        int n = 0;
        for (int s = fromStep; s < steps; s++) {
            for (int j = 0; j < count; j++) {
                System.arraycopy(orders[j], s * batch, out, n, batch);
                n += batch;
            }
        }
        return out;
    }

    /**
     * The k clip positions slot (or rank) {@code rank} of {@code ranks} reads in epoch {@code epoch}, in reading
     * order (see the class comment). A pure function of its arguments and the index.
     *
     * @param shuffleRowGroups row groups per shuffle window, at least 1
     */
    public long[] epochOrder(long seed, int epoch, int rank, int ranks, int shuffleRowGroups) {
        checkRanks(rank, ranks);
        if (shuffleRowGroups < 1) {
            throw new IllegalArgumentException("Invalid value " + shuffleRowGroups
                    + " for configuration shuffle-row-groups: must be at least 1");
        }
        int[] groups = new int[groupRows.length];
        for (int g = 0; g < groups.length; g++) {
            groups[g] = g;
        }
        shuffle(groups, new SplittableRandom(Seeds.mix(Seeds.EPOCH_ORDER, seed, epoch)));

        long k = clips / ranks;
        long[] order = new long[Math.toIntExact(k)];
        long begin = rank * k;
        long seen = 0; // clips before the current row group in the permuted sequence
        int n = 0;
        for (int i = 0; i < groups.length && n < order.length; i++) {
            int g = groups[i];
            long from = Math.max(begin - seen, 0);
            long to = Math.min(begin + k - seen, selectedRows(g));
            for (long row = from; row < to; row++) {
                order[n++] = position(g, selectedRow(g, (int) row));
            }
            seen += selectedRows(g);
        }

        int windowStart = 0;
        int window = 0;
        int groupsInWindow = 0;
        for (int i = 0; i <= order.length; i++) {
            boolean newGroup = i < order.length && (i == 0 || rowGroupOf(order[i]) != rowGroupOf(order[i - 1]));
            if (i == order.length || (newGroup && groupsInWindow == shuffleRowGroups)) {
                shuffle(order, windowStart, i,
                        new SplittableRandom(Seeds.mix(Seeds.SHUFFLE_WINDOW, seed, epoch, rank, window)));
                windowStart = i;
                window++;
                groupsInWindow = 0;
            }
            if (newGroup) {
                groupsInWindow++;
            }
        }
        return order;
    }

    private static void checkRanks(int rank, int ranks) {
        if (ranks < 1) {
            throw new IllegalArgumentException("Invalid value " + ranks + " for configuration ranks: must be at least 1");
        }
        if (rank < 0 || rank >= ranks) {
            throw new IllegalArgumentException("Invalid value " + rank + " for configuration rank: must be in [0, "
                    + ranks + ")");
        }
    }

    private static void shuffle(int[] a, SplittableRandom rng) {
        for (int i = a.length - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }

    /** Fisher-Yates over a[from, to). */
    private static void shuffle(long[] a, int from, int to, SplittableRandom rng) {
        for (int i = to - 1; i > from; i--) {
            int j = from + rng.nextInt(i - from + 1);
            long t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
    }
}
