package io.hicmae.driver.finetune;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which labelled clips a fine-tuning or evaluation run uses, and in which order; pure functions of the entries, so
 * the driver and every rank agree.
 *
 * <ul>
 *   <li>{@link #split} and {@link #fold}: the clips of a split, of a fold or of all other folds.
 *   <li>{@link #views}: upstream's test protocol takes 2 temporal clips per video and averages them; here the clips
 *       of a video are its stored windows in dataset order, and the views are evenly spaced among them (the first
 *       and the last for 2; a one-window video has one view).
 * </ul>
 *
 * <p>The training order is pre-training's ({@code ClipIndex.epochOrder} over the dataset's index restricted to the
 * chosen clips; see {@code FinetuneStep}).
 */
public final class ClipSelection {

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

    /** floor(N / (slots batch)): steps per epoch, with {@code slots} micro-batches of {@code batch} per step. */
    public static long stepsPerEpoch(int clips, int slots, int batch) {
        return (long) (clips / slots) / batch;
    }
}
