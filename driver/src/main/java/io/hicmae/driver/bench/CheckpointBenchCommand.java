package io.hicmae.driver.bench;

import io.hicmae.driver.spark.CheckpointBench;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.train.Devices;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code hicmae bench checkpoint}: the training thread's stall per checkpoint, asynchronous against synchronous. */
@Command(name = "checkpoint", mixinStandardHelpOptions = true, showDefaultValues = true,
        description = "Median stall of the training thread per checkpoint, asynchronous (copy to host memory) against "
                + "synchronous (whole write), interleaved in one run, as a fraction of a step and amortised over "
                + "--every steps; plus the slowdown of the steps that overlap the background upload.")
public final class CheckpointBenchCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "small", description = "tiny, demo, small, base.")
    String preset;

    @Option(names = "--batch", defaultValue = "2", description = "Clips per step.")
    int batch;

    @Option(names = "--reps", defaultValue = "5", description = "Repetitions (medians are reported).")
    int reps;

    @Option(names = "--steps", defaultValue = "3", description = "Plain steps timed per repetition.")
    int steps;

    @Option(names = "--every", defaultValue = "100", description = "checkpoint-every to amortise over.")
    int every;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, gpu or gpu:N.")
    String device;

    @Override
    public Integer call() throws Exception {
        if (batch < 2 || reps < 1 || steps < 1 || every < 1) {
            throw new IllegalArgumentException("Invalid value for configuration batch/reps/steps/every: batch >= 2, "
                    + "the others >= 1 (got " + batch + ", " + reps + ", " + steps + ", " + every + ")");
        }
        CheckpointBench.run(HicmaeConfig.preset(preset), batch, reps, steps, Devices.select(device))
                .print(System.out, every);
        return 0;
    }
}
