package io.hicmae.driver.bench;

import io.hicmae.runtime.bench.StepBenchmark;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.nn.Precision;
import io.hicmae.runtime.train.Devices;
import io.hicmae.runtime.train.StepPolicy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** {@code hicmae bench ...}: benchmarks whose recorded results live under bench/. */
@Command(
        name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks (see bench/README.md for the recorded results).",
        subcommands = {BenchCommand.Step.class, BenchCommand.Memory.class, CheckpointBenchCommand.class,
                LoaderBench.class})
public final class BenchCommand implements Runnable {

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    /** Times training steps. */
    @Command(name = "step", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "Median and p90 ms per training step (forward + backward + AdamW), its split (forward, "
                    + "backward, optimiser), clips/s, peak RSS, and the step's FLOP rate as a fraction of a large fp32 "
                    + "matmul through the same engine.")
    static final class Step implements Callable<Integer> {
        @Option(names = "--preset", defaultValue = "small", description = "tiny, demo, small, base.")
        String preset;

        @Option(names = "--batch", defaultValue = "2", description = "Clips per step.")
        int batch;

        @Option(names = "--steps", defaultValue = "10", description = "Timed steps.")
        int steps;

        @Option(names = "--warmup", defaultValue = "2", description = "Untimed steps first.")
        int warmup;

        @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, gpu or gpu:N.")
        String device;

        @Option(names = "--precision", defaultValue = "auto",
                description = "fp32, fp16 (matmuls, convolutions, attention in fp16, loss scaling) or auto "
                        + "(fp16 on a GPU, fp32 on the CPU).")
        String precision;

        @Option(names = "--optimizer", defaultValue = "fused",
                description = "fused (one pass over the flat buffer, CPU) or ops (per-parameter engine operations, "
                        + "the pre-fusion code).")
        String optimizer;

        @Override
        public Integer call() {
            if (batch < 2 || steps < 1 || warmup < 0) {
                throw new IllegalArgumentException("Invalid value for configuration batch/steps/warmup: batch >= 2, "
                        + "steps >= 1, warmup >= 0 (got " + batch + ", " + steps + ", " + warmup + ")");
            }
            if (!optimizer.equals("fused") && !optimizer.equals("ops")) {
                throw new IllegalArgumentException(
                        "Invalid value " + optimizer + " for configuration optimizer: must be fused or ops");
            }
            ai.djl.Device d = Devices.select(device);
            StepPolicy policy = StepPolicy.defaults().withPrecision(Precision.parse(precision, d))
                    .withOptimizer(StepPolicy.OptimizerKind.valueOf(optimizer.toUpperCase(java.util.Locale.ROOT)));
            StepBenchmark.run(HicmaeConfig.preset(preset), batch, warmup, steps, d, policy).print(System.out);
            return 0;
        }
    }

    /** Resident memory over many steps. */
    @Command(name = "memory", mixinStandardHelpOptions = true, showDefaultValues = true,
            description = "Resident set size after each of the given step counts (memory must stay flat).")
    static final class Memory implements Callable<Integer> {
        @Option(names = "--preset", defaultValue = "tiny", description = "tiny, demo, small, base.")
        String preset;

        @Option(names = "--batch", defaultValue = "2", description = "Clips per step.")
        int batch;

        @Option(names = "--at", defaultValue = "200,1000,2000", split = ",", description = "Step counts to sample.")
        int[] at;

        @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, gpu or gpu:N.")
        String device;

        @Override
        public Integer call() {
            java.util.Arrays.sort(at);
            long[] rss = StepBenchmark.rssOverSteps(HicmaeConfig.preset(preset), batch, at, Devices.select(device));
            for (int i = 0; i < at.length; i++) {
                System.out.printf("after %d steps: RSS %.1f MiB%n", at[i], rss[i] / 1048576.0);
            }
            System.out.printf("change from %d to %d steps: %+.2f%%%n", at[0], at[at.length - 1],
                    100.0 * (rss[rss.length - 1] - rss[0]) / rss[0]);
            return 0;
        }
    }
}
