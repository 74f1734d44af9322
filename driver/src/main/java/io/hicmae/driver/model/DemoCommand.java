package io.hicmae.driver.model;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.Devices;
import io.hicmae.runtime.train.PretrainTrainer;
import io.hicmae.runtime.train.StepLosses;
import io.hicmae.runtime.train.TrainOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/** {@code hicmae demo}: a few pre-training steps on generated talking-face clips, the loss printed per step. */
@Command(
        name = "demo",
        mixinStandardHelpOptions = true,
        showDefaultValues = true,
        description = {
            "Pre-trains HiCMAE for a few steps on generated talking-face clips, printing the losses per step.",
            "The clips are made in memory: a mouth opens with the loudness of a voice whose pitch belongs to the face."
        })
public final class DemoCommand implements Callable<Integer> {

    @Option(names = "--preset", defaultValue = "demo", description = "Model size: tiny, demo, small, base.")
    String preset;

    @Option(names = "--steps", defaultValue = "60", description = "Optimiser steps.")
    int steps;

    @Option(names = "--batch-size", defaultValue = "4", description = "Clips per step.")
    int batch;

    @Option(names = "--lr", defaultValue = "0.012", description = "Base lr per 256 clips (peak = lr x batch / 256).")
    double lr;

    @Option(names = "--warmup-steps", defaultValue = "10", description = "Linear warm-up steps.")
    long warmup;

    @Option(names = "--clips", defaultValue = "32", description = "Distinct generated clips to draw batches from.")
    int clips;

    @Option(names = "--seed", defaultValue = "0", description = "Seed of the weights, clips, masks and augmentation.")
    long seed;

    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, gpu or gpu:N.")
    String device;

    @Override
    public Integer call() {
        require(steps >= 1, "steps", steps, "must be at least 1");
        require(batch >= 2, "batch-size", batch, "must be at least 2 (the contrastive loss needs negatives)");
        require(clips >= batch, "clips", clips, "must be at least the batch size");
        HicmaeConfig config = HicmaeConfig.preset(preset);
        Device dev = Devices.select(device);
        TrainOptions options = new TrainOptions(lr, lr / 30, Math.min(warmup, steps), steps, batch, 0,
                AdamW.Settings.pretraining());
        System.out.printf("demo: %s on %s, %d steps of %d clips, peak lr %.2e%n", config, dev, steps, batch,
                options.schedule().peak());
        GeneratedClips source = new GeneratedClips(config, seed, 8);
        BatchAssembler assembler = new BatchAssembler(config, true);
        List<GeneratedClips.Clip> pool = new ArrayList<>();
        for (int i = 0; i < clips; i++) {
            pool.add(source.clip(i));
        }
        try (PretrainTrainer trainer = new PretrainTrainer(config, options, dev, seed)) {
            for (int s = 0; s < steps; s++) {
                SplittableRandom rng = new SplittableRandom(seed * 7919 + s);
                List<byte[]> frames = new ArrayList<>();
                List<short[]> pcm = new ArrayList<>();
                for (int i = 0; i < batch; i++) {
                    GeneratedClips.Clip c = pool.get(rng.nextInt(pool.size()));
                    frames.add(c.frames());
                    pcm.add(c.pcm());
                }
                long t0 = System.nanoTime();
                StepLosses losses;
                double stepLr;
                try (NDManager step = trainer.newStepManager()) {
                    losses = trainer.computeGradients(step, assembler.assemble(step, frames, pcm, rng));
                    stepLr = trainer.applyGradients(step);
                }
                System.out.printf("step %d/%d %s lr %.2e %.0f ms%n", s + 1, steps, losses, stepLr,
                        (System.nanoTime() - t0) / 1e6);
            }
        }
        return 0;
    }

    private static void require(boolean ok, String key, Object value, String reason) {
        if (!ok) {
            throw new IllegalArgumentException("Invalid value " + value + " for configuration " + key + ": " + reason);
        }
    }
}
