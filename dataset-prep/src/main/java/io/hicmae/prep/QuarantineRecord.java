package io.hicmae.prep;

import java.io.Serializable;

/**
 * One row of the quarantine table: an input file that yielded no clips, and why.
 *
 * @param source the file's path relative to the input root
 * @param reason the quarantine reason
 * @param detail human-readable detail naming what failed, e.g. FFmpeg's message
 */
public record QuarantineRecord(String source, QuarantineReason reason, String detail) implements Serializable {}
