package io.hicmae.prep;

/**
 * How decoding one video ended: either {@code clips > 0} and no quarantine record, or a quarantine record. When a
 * video is quarantined after some clips were already handed out, the caller discards them ({@link ClipSpool} does).
 *
 * @param source the video's path relative to the input root
 * @param clips clips handed to the sink
 * @param quarantine why the video yields nothing, or {@code null} when it yielded clips
 */
public record DecodeOutcome(String source, int clips, QuarantineRecord quarantine) {

    static DecodeOutcome ok(String source, int clips) {
        return new DecodeOutcome(source, clips, null);
    }

    /** A quarantined outcome: {@code clipsHandedOut} clips, if any, must be dropped by the caller. */
    public static DecodeOutcome quarantined(String source, int clipsHandedOut, QuarantineReason reason, String detail) {
        return new DecodeOutcome(source, clipsHandedOut, new QuarantineRecord(source, reason, detail));
    }

    /** Whether the video goes to the quarantine; its clips, if any were handed out, must be dropped. */
    public boolean isQuarantined() {
        return quarantine != null;
    }
}
