package io.hicmae.driver.finetune;

import io.hicmae.runtime.data.ClipIndex;
import io.hicmae.runtime.data.Seeds;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * Which labelled clips a fine-tuning or evaluation run uses, and in which order; pure functions of the entries, so
 * the driver and every rank agree.
 *
 * <ul>
 *   <li>{@link #split} and {@link #fold}: the clips of a split, of a fold or of all other folds.
 *   <li>{@link #views}: upstream's test protocol takes 2 temporal clips per video and averages them; here the clips
 *       of a video are its stored windows in dataset order, and the views are evenly spaced among them (the first
 *       and the last for 2; a one-window video has one view).
 *   <li>{@link #epochOrder}: the training order of one rank in one epoch, as {@code ClipIndex.epochOrder} does it
 *       for pre-training but over a subset: row groups permuted by (seed, epoch), their chosen clips concatenated,
 *       rank r takes the contiguous slice [r k, (r + 1) k) with k = floor(N / ranks), shuffled within windows of
 *       {@link #WINDOW_ROW_GROUPS} row groups. Each rank so reads about 1 / ranks of the row groups, a window at a
 *       time.
 * </ul>
 */
public final class ClipSelection {

    /** Row groups whose clips are shuffled together in a rank's epoch order. */
    static final int WINDOW_ROW_GROUPS = 2;
    private static final long ORDER_TAG = 0x66742d6f72646572L;
    private static final long WINDOW_TAG = 0x66742d77696e646fL;

    private ClipSelection() {}

    /** The clips whose split column equals {@code split}. */
    public static List<ClipEntry> split(List<ClipEntry> all, String split) {
        return all.stream().filter(e -> split.equals(e.split())).toList();
    }

    /** The clips of fold {@code k} ({@code heldOut}) or of every other fold. */
    public static List<ClipEntry> fold(List<ClipEntry> all, int k, boolean heldOut) {
        return all.stream().filter(e -> e.fold() >= 0 && (e.fold() == k) == heldOut).toList();
    }

    /** Up to {@code perVideo} evenly spaced clips of each video, videos in first-seen order. */
    public static List<ClipEntry> views(List<ClipEntry> clips, int perVideo) {
        Map<String, List<ClipEntry>> byVideo = new LinkedHashMap<>();
        for (ClipEntry e : clips) {
            byVideo.computeIfAbsent(e.source(), k -> new ArrayList<>()).add(e);
        }
        List<ClipEntry> out = new ArrayList<>();
        for (List<ClipEntry> v : byVideo.values()) {
            int n = v.size();
            int m = Math.min(perVideo, n);
            for (int j = 0; j < m; j++) {
                out.add(v.get(m == 1 ? 0 : (int) Math.round((double) j * (n - 1) / (m - 1))));
            }
        }
        return out;
    }

    /** floor(N / (ranks batch)): steps per epoch, the same on every rank. */
    public static long stepsPerEpoch(int clips, int ranks, int batch) {
        return (long) (clips / ranks) / batch;
    }

    /** Indices into {@code clips} that rank {@code rank} trains on in {@code epoch}, in order (see the class comment). */
    public static int[] epochOrder(List<ClipEntry> clips, long seed, int epoch, int rank, int ranks) {
        Map<Integer, List<Integer>> byGroup = new TreeMap<>();
        for (int i = 0; i < clips.size(); i++) {
            byGroup.computeIfAbsent(ClipIndex.rowGroupOf(clips.get(i).position()), g -> new ArrayList<>()).add(i);
        }
        List<List<Integer>> groups = new ArrayList<>(byGroup.values());
        SplittableRandom order = new SplittableRandom(Seeds.mix(ORDER_TAG, seed, epoch));
        for (int i = groups.size() - 1; i > 0; i--) {
            int j = order.nextInt(i + 1);
            List<Integer> t = groups.get(i);
            groups.set(i, groups.get(j));
            groups.set(j, t);
        }
        List<Integer> sequence = new ArrayList<>(clips.size());
        groups.forEach(sequence::addAll);
        int k = clips.size() / ranks;
        int[] out = new int[k];
        for (int i = 0; i < k; i++) {
            out[i] = sequence.get(rank * k + i);
        }
        int start = 0;
        int window = 0;
        int groupsSeen = 0;
        for (int i = 0; i <= k; i++) {
            boolean newGroup = i < k && (i == 0 || ClipIndex.rowGroupOf(clips.get(out[i]).position())
                    != ClipIndex.rowGroupOf(clips.get(out[i - 1]).position()));
            if (i == k || (newGroup && groupsSeen == WINDOW_ROW_GROUPS)) {
                SplittableRandom r = new SplittableRandom(Seeds.mix(WINDOW_TAG, seed, epoch, rank, window++));
                for (int a = i - 1; a > start; a--) {
                    int b = start + r.nextInt(a - start + 1);
                    int t = out[a];
                    out[a] = out[b];
                    out[b] = t;
                }
                start = i;
                groupsSeen = 0;
            }
            if (newGroup) {
                groupsSeen++;
            }
        }
        return out;
    }
}
