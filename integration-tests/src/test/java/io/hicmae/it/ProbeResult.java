package io.hicmae.it;

import io.hicmae.it.jobs.BarrierProbeJob;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One task's report from {@link BarrierProbeJob}.
 *
 * @param workerPid the pid of the executor's parent, the Worker JVM that started it
 * @param resources the task's resources as the job printed them, e.g. {@code {gpu=[0]}}
 */
record ProbeResult(int partition, int stageAttempt, String executor, long pid, long workerPid, String resources) {
    private static final Pattern LINE = Pattern.compile(
            "PROBE result partition=(\\d+) attempt=(\\d+) executor=(\\S+) pid=(\\d+) worker=(-?\\d+) resources=(.*)");

    /** The results in the driver's output, by partition. */
    static List<ProbeResult> of(Submission.Result result) {
        return result.lines("PROBE result ").stream().map(ProbeResult::parse).toList();
    }

    private static ProbeResult parse(String line) {
        Matcher m = LINE.matcher(line);
        if (!m.matches()) {
            throw new IllegalArgumentException("Not a probe result: " + line);
        }
        return new ProbeResult(Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)), m.group(3),
                Long.parseLong(m.group(4)), Long.parseLong(m.group(5)), m.group(6));
    }
}
