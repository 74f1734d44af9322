package io.hicmae.runtime.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.PretrainTrainer;
import io.hicmae.runtime.train.StepPolicy;
import io.hicmae.runtime.train.TrainOptions;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Times full training steps (forward + backward + AdamW) on generated clips, and a large matmul through the same
 * engine as the yardstick for the step's FLOP rate. Also measures resident memory over many steps.
 */
public final class StepBenchmark {

    /** Results of {@link #run}. */
    public record Result(String preset, int batch, int steps, double medianMs, double p90Ms, double clipsPerSecond,
            long peakRssBytes, double stepGflops, double matmulGflops, String precision, String optimizer,
            double forwardMs, double backwardMs, double optimizerMs, long skipped) {

        public void print(PrintStream out) {
            out.printf("preset %s, batch %d, %d timed steps, precision %s, optimizer %s%n", preset, batch, steps,
                    precision, optimizer);
            out.printf("step ms: median %.1f, p90 %.1f%n", medianMs, p90Ms);
            out.printf("split ms (medians): forward %.1f, backward %.1f, optimiser %.1f (%.0f%% of the step)%n",
                    forwardMs, backwardMs, optimizerMs, 100 * optimizerMs / medianMs);
            if (skipped > 0) {
                out.printf("skipped steps (fp16 overflow or non-finite): %d%n", skipped);
            }
            out.printf("clips/s: %.2f%n", clipsPerSecond);
            out.printf("peak RSS: %.0f MiB%n", peakRssBytes / 1048576.0);
            out.printf("step rate: %.1f GFLOP/s = %.0f%% of a %s matmul (%.1f GFLOP/s)%n", stepGflops,
                    100 * stepGflops / matmulGflops, "2048x2048", matmulGflops);
        }
    }

    private StepBenchmark() {}

    /** Times {@code steps} steps after {@code warmup} untimed ones, fp32 with the fused AdamW. */
    public static Result run(HicmaeConfig config, int batch, int warmup, int steps, Device device) {
        return run(config, batch, warmup, steps, device, StepPolicy.defaults());
    }

    /** Times {@code steps} steps after {@code warmup} untimed ones under {@code policy} (precision, optimiser). */
    public static Result run(HicmaeConfig config, int batch, int warmup, int steps, Device device,
            StepPolicy policy) {
        TrainOptions options = new TrainOptions(3e-4, 1e-5, 0, warmup + steps, 256, 0, AdamW.Settings.pretraining());
        GeneratedClips clips = new GeneratedClips(config, 1, 8);
        BatchAssembler assembler = new BatchAssembler(config, true);
        List<byte[]> frames = new ArrayList<>();
        List<short[]> pcm = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            GeneratedClips.Clip c = clips.clip(i);
            frames.add(c.frames());
            pcm.add(c.pcm());
        }
        double[] ms = new double[steps];
        double[] fwd = new double[steps];
        double[] bwd = new double[steps];
        double[] opt = new double[steps];
        long skipped;
        try (PretrainTrainer trainer = new PretrainTrainer(config, options, device, 1)) {
            trainer.use(policy);
            SplittableRandom rng = new SplittableRandom(5);
            for (int s = 0; s < warmup + steps; s++) {
                try (NDManager step = trainer.newStepManager()) {
                    PretrainBatch b = assembler.assemble(step, frames, pcm, rng);
                    long t0 = System.nanoTime();
                    trainer.computeGradients(step, b);
                    long t1 = System.nanoTime();
                    trainer.finishStep(step);
                    long t2 = System.nanoTime();
                    if (s >= warmup) {
                        int i = s - warmup;
                        ms[i] = (t2 - t0) / 1e6;
                        long[] split = trainer.lastSplitNanos();
                        fwd[i] = split[0] / 1e6;
                        bwd[i] = split[1] / 1e6;
                        opt[i] = (t2 - t1) / 1e6;
                    }
                }
            }
            skipped = trainer.skippedSteps();
        }
        double[] sorted = ms.clone();
        Arrays.sort(sorted);
        double median = percentile(sorted, 0.5);
        double stepGflops = FlopCount.pretrainStep(config, batch) / (median / 1e3) / 1e9;
        return new Result(config.name(), batch, steps, median, percentile(sorted, 0.9), batch / (median / 1e3),
                peakRss(), stepGflops, matmulGflops(device), policy.precision().option(),
                policy.optimizer().name().toLowerCase(java.util.Locale.ROOT), median(fwd), median(bwd), median(opt),
                skipped);
    }

    private static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return percentile(sorted, 0.5);
    }

    /**
     * Trains {@code totalSteps} steps on the same generated clips and returns the resident set size after each
     * step listed in {@code sampleAt} (ascending), to show that memory stays flat.
     */
    public static long[] rssOverSteps(HicmaeConfig config, int batch, int[] sampleAt, Device device) {
        int total = sampleAt[sampleAt.length - 1];
        TrainOptions options = new TrainOptions(3e-4, 1e-5, 0, total, 256, 0, AdamW.Settings.pretraining());
        GeneratedClips clips = new GeneratedClips(config, 1, 8);
        BatchAssembler assembler = new BatchAssembler(config, true);
        long[] rss = new long[sampleAt.length];
        int next = 0;
        try (PretrainTrainer trainer = new PretrainTrainer(config, options, device, 1)) {
            SplittableRandom rng = new SplittableRandom(5);
            for (int s = 1; s <= total; s++) {
                GeneratedClips.Drawn drawn = clips.draw(batch, 64, rng);
                try (NDManager step = trainer.newStepManager()) {
                    trainer.computeGradients(step, assembler.assemble(step, drawn.frames(), drawn.pcm(), rng));
                    trainer.applyGradients(step);
                }
                if (s == sampleAt[next]) {
                    System.gc();
                    rss[next++] = currentRss();
                }
            }
        }
        return rss;
    }

    /** fp32 GFLOP/s of a 2048x2048 matmul through the engine (median of 5). */
    public static double matmulGflops(Device device) {
        int n = 2048;
        try (NDManager m = NDManager.newBaseManager(device)) {
            NDArray a = m.randomUniform(-1f, 1f, new ai.djl.ndarray.types.Shape(n, n));
            NDArray b = m.randomUniform(-1f, 1f, new ai.djl.ndarray.types.Shape(n, n));
            double[] t = new double[5];
            for (int i = 0; i < 7; i++) {
                try (NDManager tmp = m.newSubManager()) {
                    long t0 = System.nanoTime();
                    NDArray c = a.matMul(b);
                    c.attach(tmp);
                    c.toFloatArray(); // forces completion on asynchronous devices
                    long t1 = System.nanoTime();
                    if (i >= 2) {
                        t[i - 2] = (t1 - t0) / 1e9;
                    }
                }
            }
            Arrays.sort(t);
            return 2.0 * n * n * n / t[2] / 1e9;
        }
    }

    /** Peak resident set size of this process (VmHWM), or -1 where /proc is unavailable. */
    public static long peakRss() {
        return procStatus("VmHWM:");
    }

    /** Current resident set size (VmRSS), or -1. */
    public static long currentRss() {
        return procStatus("VmRSS:");
    }

    private static long procStatus(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith(field)) {
                    return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
                }
            }
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
        return -1;
    }

    private static double percentile(double[] sorted, double q) {
        int i = (int) Math.ceil(q * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }
}
