package io.hicmae.runtime.finetune;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.ClipTensors;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.PretrainTrainer;
import io.hicmae.runtime.train.StepLosses;
import io.hicmae.runtime.train.TrainOptions;

import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Does pre-training help? On {@link GeneratedClips}, whose generator knows each clip's speaker and syllable rate,
 * pre-trains a {@link PretrainTrainer} for a short run, then linear-probes labels with {@link FinetuneTrainer} in
 * {@code --linear-probe} mode on (a) that checkpoint and (b) the same model before its first step (the upstream
 * random initialisation from the same seed), with the same probe seed, data and budget. Two labels: the speaker
 * (face colour and voice pitch, constant over the clip) and the syllable rate in 4 equal bins of [2, 5) Hz (the
 * rhythm shared by the mouth and the voice, a stand-in for arousal). Prints a Markdown report: held-out WAR, UAR and
 * macro F1 of every probe, run lengths, seeds and times.
 *
 * <p>Probe inputs are clean (no augmentation, no audio gain, no mixup, no smoothing). Clips: pre-training draws
 * from indices [0, pretrain-clips); the probe trains on [10^6, 10^6 + train-clips) and is scored on
 * [2 * 10^6, 2 * 10^6 + test-clips).
 *
 * <p>Flags: {@code --preset tiny --speakers 8 --pretrain-steps 300 --pretrain-batch 8 --pretrain-lr 1e-3
 * --pretrain-clips 1024 --probe-steps 300 --probe-batch 16 --probe-lr 0.1 --train-clips 512 --test-clips 256
 * --seed 1}.
 */
public final class LinearProbeBench {

    private static final long DATA_SEED = 7;

    private final HicmaeConfig config;
    private final GeneratedClips clips;
    private final KaldiFbank fbank;
    private final int speakers;

    private LinearProbeBench(HicmaeConfig config, int speakers) {
        this.config = config;
        this.speakers = speakers;
        this.clips = new GeneratedClips(config, DATA_SEED, speakers);
        this.fbank = new KaldiFbank(config.audioMelBins());
    }

    public static void main(String[] args) {
        Map<String, String> f = new java.util.TreeMap<>(Map.of("--preset", "tiny", "--speakers", "8",
                "--pretrain-steps", "300", "--pretrain-batch", "8", "--pretrain-clips", "1024", "--probe-steps", "300",
                "--probe-batch", "16", "--probe-lr", "0.1", "--train-clips", "512", "--test-clips", "256"));
        f.put("--seed", "1");
        f.put("--pretrain-lr", "1e-3");
        for (int i = 0; i < args.length; i += 2) {
            if (!f.containsKey(args[i]) || i + 1 >= args.length) {
                throw new IllegalArgumentException("Unknown flag or missing value: " + args[i] + "; flags: " + f);
            }
            f.put(args[i], args[i + 1]);
        }
        HicmaeConfig config = HicmaeConfig.preset(f.get("--preset"));
        int pretrainSteps = Integer.parseInt(f.get("--pretrain-steps"));
        int pretrainBatch = Integer.parseInt(f.get("--pretrain-batch"));
        int probeSteps = Integer.parseInt(f.get("--probe-steps"));
        int probeBatch = Integer.parseInt(f.get("--probe-batch"));
        double probeLr = Double.parseDouble(f.get("--probe-lr"));
        int trainClips = Integer.parseInt(f.get("--train-clips"));
        int testClips = Integer.parseInt(f.get("--test-clips"));
        long seed = Long.parseLong(f.get("--seed"));
        LinearProbeBench bench = new LinearProbeBench(config, Integer.parseInt(f.get("--speakers")));

        System.out.printf("# Linear probes on generated clips: pre-trained vs random backbone, %s%n%n",
                LocalDate.now());
        System.out.printf("Preset %s, %d speakers, data seed %d, model seed %d, probe seed %d; "
                + "%d CPU cores, load average %.2f at the start.%n%n", config.name(), bench.speakers,
                DATA_SEED, seed, seed + 1, Runtime.getRuntime().availableProcessors(),
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        double peak = Double.parseDouble(f.get("--pretrain-lr"));
        double base = peak * 256 / pretrainBatch;
        TrainOptions pretrain = new TrainOptions(base, base / 30, Math.min(20, pretrainSteps), Math.max(1,
                pretrainSteps), pretrainBatch, 0, AdamW.Settings.pretraining());
        try (PretrainTrainer trainer = new PretrainTrainer(config, pretrain, Device.cpu(), seed);
                NDManager keep = NDManager.newBaseManager()) {
            Map<String, NDArray> random = copy(StateDict.arrays(trainer.model()), keep);
            long t0 = System.nanoTime();
            List<StepLosses> losses = bench.pretrain(trainer, pretrainSteps, pretrainBatch,
                    Integer.parseInt(f.get("--pretrain-clips")));
            double pretrainSeconds = (System.nanoTime() - t0) / 1e9;
            if (!losses.isEmpty()) {
                StepLosses last = losses.get(losses.size() - 1);
                System.out.printf("Pre-training: %d steps of %d clips (peak lr %.3g, warm-up %d, cosine), %.0f s;%n"
                        + "first step %s%nlast step  %s%n%n", pretrainSteps, pretrainBatch, peak,
                        pretrain.warmupSteps(), pretrainSeconds, losses.get(0), last);
                if (!Float.isFinite(last.total())) {
                    throw new IllegalStateException("pre-training diverged; lower --pretrain-lr");
                }
            }
            Map<String, NDArray> pretrained = copy(StateDict.arrays(trainer.model()), keep);
            System.out.printf("Probe: head only, AdamW without weight decay, lr %.3g per 256, %d steps of %d clips from"
                    + " %d training clips (warm-up %d, cosine to 0), scored on %d held-out clips.%n", probeLr,
                    probeSteps, probeBatch, trainClips, Math.min(10, probeSteps), testClips);
            List<Label> labels = List.of(
                    new Label("speaker", bench.speakers, GeneratedClips.Clip::speaker),
                    new Label("syllable rate (4 bins of [2, 5) Hz)", RATE_BINS,
                            c -> Math.min(RATE_BINS - 1, (int) ((c.syllableHz() - 2) / (3.0 / RATE_BINS)))));
            for (Label label : labels) {
                FinetuneOptions probe = FinetuneOptions.linearProbe(Task.classification(label.classes()), probeLr,
                        Math.min(10, probeSteps), probeSteps, probeBatch);
                System.out.printf("%n## %s (%d classes, chance %.1f%%)%n%n", label.name(), label.classes(),
                        100.0 / label.classes());
                System.out.println("| backbone | WAR % | UAR % | macro F1 % | last probe loss | probe time s |");
                System.out.println("|---|--:|--:|--:|--:|--:|");
                bench.probe("pre-trained (" + pretrainSteps + " steps)", pretrained, probe, label, seed + 1,
                        trainClips, testClips);
                bench.probe("random init (same seed, 0 steps)", random, probe, label, seed + 1, trainClips,
                        testClips);
            }
        }
    }

    private static final int RATE_BINS = 4;

    /** A label the generator knows: its name, class count and value per clip. */
    private record Label(String name, int classes, java.util.function.ToIntFunction<GeneratedClips.Clip> of) {}

    private List<StepLosses> pretrain(PretrainTrainer trainer, int steps, int batch, int pool) {
        BatchAssembler assembler = new BatchAssembler(config, true);
        List<StepLosses> out = new ArrayList<>();
        for (int s = 0; s < steps; s++) {
            SplittableRandom rng = new SplittableRandom(1000 + s);
            List<byte[]> frames = new ArrayList<>();
            List<short[]> pcm = new ArrayList<>();
            for (int i = 0; i < batch; i++) {
                GeneratedClips.Clip c = clips.clip(rng.nextInt(pool));
                frames.add(c.frames());
                pcm.add(c.pcm());
            }
            try (NDManager step = trainer.newStepManager()) {
                out.add(trainer.computeGradients(step, assembler.assemble(step, frames, pcm, rng)));
                trainer.applyGradients(step);
            }
        }
        return out;
    }

    private void probe(String name, Map<String, NDArray> weights, FinetuneOptions options, Label label, long seed,
            int trainClips, int testClips) {
        long t0 = System.nanoTime();
        try (FinetuneTrainer trainer = new FinetuneTrainer(config, options, Device.cpu(), seed)) {
            trainer.loadPretrained(weights, name);
            Mixup clean = new Mixup(options.mixup(), label.classes(), options.smoothing());
            SplittableRandom rng = new SplittableRandom(seed);
            float loss = Float.NaN;
            int batch = (int) options.globalBatch();
            for (long s = 0; s < options.totalSteps(); s++) {
                long[] indices = new long[batch];
                for (int i = 0; i < batch; i++) {
                    indices[i] = 1_000_000L + rng.nextInt(trainClips);
                }
                try (NDManager step = trainer.newStepManager()) {
                    Inputs in = inputs(step, indices, label);
                    Mixup.Mixed m = clean.apply(in.video, in.labels, rng);
                    loss = trainer.computeGradients(step, new FinetuneBatch(m.video(), in.audio, m.targets(), s));
                    trainer.applyGradients(step);
                }
            }
            int[] labels = new int[testClips];
            int[] predictions = new int[testClips];
            for (int from = 0; from < testClips; from += batch) {
                int n = Math.min(batch, testClips - from);
                long[] indices = new long[n];
                for (int i = 0; i < n; i++) {
                    indices[i] = 2_000_000L + from + i;
                }
                try (NDManager step = trainer.newStepManager()) {
                    Inputs in = inputs(step, indices, label);
                    long[] pred = trainer.predict(in.video, in.audio).argMax(1).toLongArray();
                    long[] truth = in.labels.toLongArray();
                    for (int i = 0; i < n; i++) {
                        labels[from + i] = (int) truth[i];
                        predictions[from + i] = (int) pred[i];
                    }
                }
            }
            ClassificationMetrics m = Metrics.classification(labels, predictions, label.classes());
            System.out.printf("| %s | %.1f | %.1f | %.1f | %.4f | %.0f |%n", name, 100 * m.war(), 100 * m.uar(),
                    100 * m.macroF1(), loss, (System.nanoTime() - t0) / 1e9);
        }
    }

    private record Inputs(NDArray video, NDArray audio, NDArray labels) {}

    /** Clean inputs of the given clips: normalised frames, fbank without gain, labels. */
    private Inputs inputs(NDManager m, long[] indices, Label label) {
        int t = config.numFrames();
        int side = config.imgSize();
        int videoSize = 3 * t * side * side;
        int audioSize = config.audioFrames() * config.audioMelBins();
        float[] video = new float[indices.length * videoSize];
        float[] audio = new float[indices.length * audioSize];
        long[] labels = new long[indices.length];
        for (int i = 0; i < indices.length; i++) {
            GeneratedClips.Clip c = clips.clip(indices[i]);
            ClipTensors.normalizeFrames(c.frames(), t, side, side, video, i * videoSize);
            System.arraycopy(fbank.modelInput(c.pcm(), config.audioFrames(), 1f), 0, audio, i * audioSize, audioSize);
            labels[i] = label.of().applyAsInt(c);
        }
        return new Inputs(m.create(video, new Shape(indices.length, 3, t, side, side)),
                m.create(audio, new Shape(indices.length, 1, config.audioFrames(), config.audioMelBins())),
                m.create(labels));
    }

    private static Map<String, NDArray> copy(Map<String, NDArray> arrays, NDManager m) {
        Map<String, NDArray> out = new java.util.LinkedHashMap<>();
        arrays.forEach((k, v) -> out.put(k, v.duplicate()));
        out.values().forEach(v -> v.attach(m));
        return out;
    }
}
