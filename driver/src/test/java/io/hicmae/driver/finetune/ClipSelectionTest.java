package io.hicmae.driver.finetune;

import io.hicmae.runtime.data.ClipIndex;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClipSelectionTest {

    /** 10 videos x 3 windows over 5 row groups of 6 clips; video v is in split train for v < 7, fold v % 5. */
    private static List<ClipEntry> clips() {
        List<ClipEntry> out = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            int v = i / 3;
            out.add(new ClipEntry(ClipIndex.position(i / 6, i % 6), "c" + i, "video" + v, v % 3, new float[0],
                    v < 7 ? "train" : "val", v % 5));
        }
        return out;
    }

    @Test
    void stepsPerEpochAreFloorOfClipsOverSlotsTimesBatch() {
        assertEquals(3, ClipSelection.stepsPerEpoch(30, 3, 3));
        assertEquals(1, ClipSelection.stepsPerEpoch(30, 4, 4));
    }

    @Test
    void viewsAreTheFirstAndLastWindowOfEachVideo() {
        List<ClipEntry> views = ClipSelection.views(clips(), 2);
        assertEquals(20, views.size());
        assertEquals(List.of("c0", "c2", "c3", "c5"), views.subList(0, 4).stream().map(ClipEntry::clipId).toList());
        assertEquals(List.of("c0"), ClipSelection.views(clips().subList(0, 1), 2).stream().map(ClipEntry::clipId)
                .toList());
    }

    @Test
    void splitsAndFoldsSelectByVideo() {
        assertEquals(21, ClipSelection.split(clips(), "train").size());
        List<ClipEntry> held = ClipSelection.fold(clips(), 2, true);
        assertEquals(6, held.size(), "videos 2 and 7");
        assertEquals(24, ClipSelection.fold(clips(), 2, false).size());
        assertTrue(held.stream().allMatch(e -> e.fold() == 2));
    }
}
