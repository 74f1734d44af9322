package io.hicmae.driver.spark;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.PretrainTrainer;
import io.hicmae.runtime.train.TrainOptions;
import io.hicmae.zoo.ModelZoo;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * What a checkpoint costs the training thread, asynchronous ({@link CheckpointWriter}) against synchronous (the
 * whole write on the training thread), interleaved in one process: per repetition, plain steps, one synchronous
 * write, then one asynchronous checkpoint followed by steps until its upload is committed (those steps share the
 * CPU with the upload; their extra time over the plain steps counts against the asynchronous checkpoint). Zoo in
 * a temporary local directory.
 */
public final class CheckpointBench {

    /** Medians over the repetitions, in ms. */
    public record Result(String preset, int batch, int reps, double stepMs, double syncMs, double stallMs,
            double overlapExtraMs, int overlappedSteps, long stateBytes) {

        public void print(PrintStream out, int every) {
            out.printf("preset %s, batch %d, %d repetitions (medians), state %.1f MB%n", preset, batch, reps,
                    stateBytes / 1e6);
            out.printf("step                                 %10.1f ms%n", stepMs);
            out.printf("synchronous checkpoint (stall)       %10.1f ms  = %6.1f%% of a step, %6.2f%% over %d steps%n",
                    syncMs, 100 * syncMs / stepMs, 100 * syncMs / (every * stepMs), every);
            out.printf("asynchronous checkpoint (stall)      %10.1f ms  = %6.1f%% of a step, %6.2f%% over %d steps%n",
                    stallMs, 100 * stallMs / stepMs, 100 * stallMs / (every * stepMs), every);
            double total = stallMs + Math.max(0, overlapExtraMs);
            out.printf("  + steps slowed by the upload       %10.1f ms over %d step(s); stall + slowdown = %.2f%% over "
                    + "%d steps%n", overlapExtraMs, overlappedSteps, 100 * total / (every * stepMs), every);
        }
    }

    private CheckpointBench() {}

    public static Result run(HicmaeConfig config, int batch, int reps, int plainSteps, Device device)
            throws IOException {
        Path root = Files.createTempDirectory("hicmae-checkpoint-bench-");
        TrainOptions options = new TrainOptions(3e-4, 1e-5, 0, 1_000_000, 256, 0, AdamW.Settings.pretraining());
        GeneratedClips clips = new GeneratedClips(config, 1, 8);
        BatchAssembler assembler = new BatchAssembler(config, true);
        List<byte[]> frames = new ArrayList<>();
        List<short[]> pcm = new ArrayList<>();
        for (int i = 0; i < batch; i++) {
            frames.add(clips.clip(i).frames());
            pcm.add(clips.clip(i).pcm());
        }
        List<String> metrics = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            metrics.add("{\"step\":" + i + ",\"loss\":1.0,\"lr\":0.0003,\"ms_data\":0.1,\"ms_compute\":1000.0}");
        }
        double[] step = new double[reps];
        double[] sync = new double[reps];
        double[] stall = new double[reps];
        double[] extra = new double[reps];
        int[] overlapped = new int[reps];
        long stateBytes;
        try (PretrainTrainer trainer = new PretrainTrainer(config, options, device, 1);
                ModelZoo zoo = ModelZoo.open(root.toString())) {
            SplittableRandom rng = new SplittableRandom(5);
            Duration wait = Duration.ofMinutes(10);
            CheckpointWriter async = new CheckpointWriter(zoo, "bench-async", true, 1, Duration.ZERO);
            Map<String, String> md = Map.of("bench", "checkpoint");
            step(trainer, assembler, frames, pcm, rng); // warm-up
            try {
                for (int r = 0; r < reps; r++) {
                    double[] plain = new double[plainSteps];
                    for (int i = 0; i < plainSteps; i++) {
                        plain[i] = step(trainer, assembler, frames, pcm, rng);
                    }
                    step[r] = median(plain);
                    long t0 = System.nanoTime();
                    RunCheckpoints.write(zoo, "bench-sync", trainer.state(), md, metrics);
                    sync[r] = (System.nanoTime() - t0) / 1e6;
                    t0 = System.nanoTime();
                    async.submit(trainer.state(), md, metrics, wait);
                    stall[r] = (System.nanoTime() - t0) / 1e6;
                    double during = 0;
                    while (!async.idle()) {
                        during += step(trainer, assembler, frames, pcm, rng);
                        overlapped[r]++;
                    }
                    async.flush(wait);
                    extra[r] = during - overlapped[r] * step[r];
                }
            } finally {
                async.close(false, wait);
            }
            stateBytes = stateBytes(trainer);
        } finally {
            deleteTree(root);
        }
        return new Result(config.name(), batch, reps, median(step), median(sync), median(stall), median(extra),
                (int) Math.round(median(Arrays.stream(overlapped).asDoubleStream().toArray())), stateBytes);
    }

    private static double step(PretrainTrainer trainer, BatchAssembler assembler, List<byte[]> frames,
            List<short[]> pcm, SplittableRandom rng) {
        try (NDManager m = trainer.newStepManager()) {
            PretrainBatch b = assembler.assemble(m, frames, pcm, rng);
            long t0 = System.nanoTime();
            trainer.computeGradients(m, b);
            trainer.applyGradients(m);
            return (System.nanoTime() - t0) / 1e6;
        }
    }

    private static long stateBytes(PretrainTrainer trainer) {
        HostSnapshot s = new HostSnapshot();
        s.take(trainer.state());
        return s.bytes();
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> files = Files.walk(root)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
