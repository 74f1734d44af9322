package io.hicmae.runtime.finetune;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.ParameterStore;
import io.hicmae.runtime.audio.KaldiFbank;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.ClipTensors;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.model.Trace;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.Autograd;
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
 * pre-trains a {@link PretrainTrainer} for a short run, then linear-probes labels on (a) that checkpoint and (b) the
 * same model before its first step (the upstream random initialisation from the same seed), with the same probe
 * seed, data and budget. Two probes: {@link RidgeProbe} on the frozen embeddings (standardised per dimension, solved
 * exactly, its ridge strength chosen on the validation clips) and {@link FinetuneTrainer} in {@code --linear-probe}
 * mode (the head behind {@code fc_norm}, trained by AdamW for a fixed budget). Two labels: the speaker
 * (face and voice, constant over the clip) and the syllable rate in 4 equal bins of [2, 5) Hz (the rhythm shared by
 * the mouth and the voice, a stand-in for arousal). Prints a Markdown report: validation WAR and held-out WAR, UAR
 * and macro F1 of every probe, run lengths, seeds and times, and with several seeds their mean and spread.
 *
 * <p>{@code --variation none} is the original generator, where the speaker fixes the mean colour of the frames, which
 * a random backbone's pooled features already separate; {@code nuisance} draws colours, texture, position, loudness,
 * timbre and noise per clip, so that the speaker is carried only by face outline and pitch (see
 * {@link GeneratedClips.Variation}).
 *
 * <p>Probe inputs are clean (no augmentation, no audio gain, no mixup, no smoothing). Clips: pre-training draws
 * from indices [0, pretrain-clips); the probe trains on [10^6, 10^6 + train-clips), is checked on
 * [3 * 10^6, 3 * 10^6 + val-clips) and scored on [2 * 10^6, 2 * 10^6 + test-clips). Each model seed s pre-trains
 * from s and probes with seed s + 1.
 *
 * <p>Flags: {@code --preset tiny --speakers 8 --variation none --pretrain-steps 300 --pretrain-batch 8
 * --pretrain-lr 1e-3 --pretrain-clips 1024 --probe-steps 300 --probe-batch 16 --probe-lr 0.1 --train-clips 512
 * --val-clips 256 --test-clips 256 --seeds 1} ({@code --seeds} takes a comma-separated list).
 */
public final class LinearProbeBench {

    private static final long DATA_SEED = 7;

    private final HicmaeConfig config;
    private final GeneratedClips clips;
    private final KaldiFbank fbank;
    private final int speakers;

    private LinearProbeBench(HicmaeConfig config, int speakers, GeneratedClips.Variation variation) {
        this.config = config;
        this.speakers = speakers;
        this.clips = new GeneratedClips(config, DATA_SEED, speakers, variation);
        this.fbank = new KaldiFbank(config.audioMelBins());
    }

    public static void main(String[] args) {
        Map<String, String> f = new java.util.TreeMap<>(Map.of("--preset", "tiny", "--speakers", "8",
                "--pretrain-steps", "300", "--pretrain-batch", "8", "--pretrain-clips", "1024", "--probe-steps", "300",
                "--probe-batch", "16", "--probe-lr", "0.1", "--train-clips", "512", "--test-clips", "256"));
        f.put("--val-clips", "256");
        f.put("--seeds", "1");
        f.put("--pretrain-lr", "1e-3");
        f.put("--variation", "none");
        for (int i = 0; i < args.length; i += 2) {
            if (!f.containsKey(args[i]) || i + 1 >= args.length) {
                throw new IllegalArgumentException("Unknown flag or missing value: " + args[i] + "; flags: " + f);
            }
            f.put(args[i], args[i + 1]);
        }
        HicmaeConfig config = HicmaeConfig.preset(f.get("--preset"));
        GeneratedClips.Variation variation = variation(f.get("--variation"));
        long[] seeds = seeds(f.get("--seeds"));
        Run run = new Run(count(f, "--pretrain-steps"), count(f, "--pretrain-batch"),
                number(f.get("--pretrain-lr"), "--pretrain-lr"), count(f, "--pretrain-clips"),
                count(f, "--probe-steps"), count(f, "--probe-batch"),
                number(f.get("--probe-lr"), "--probe-lr"), count(f, "--train-clips"),
                count(f, "--val-clips"), count(f, "--test-clips"));
        LinearProbeBench bench = new LinearProbeBench(config, count(f, "--speakers"), variation);
        List<Label> labels = List.of(
                new Label("speaker", bench.speakers, GeneratedClips.Clip::speaker),
                new Label("syllable rate (4 bins of [2, 5) Hz)", RATE_BINS,
                        c -> Math.min(RATE_BINS - 1, (int) ((c.syllableHz() - 2) / (3.0 / RATE_BINS)))));

        System.out.printf("# Linear probes on generated clips: pre-trained vs random backbone, %s%n%n",
                LocalDate.now());
        System.out.printf("Preset %s, %d speakers, variation %s, data seed %d, model seeds %s (probe seed = model "
                + "seed + 1); %d CPU cores, load average %.2f at the start.%n%n", config.name(), bench.speakers,
                variation.name().toLowerCase(java.util.Locale.ROOT), DATA_SEED, f.get("--seeds"),
                Runtime.getRuntime().availableProcessors(), loadAverage());
        System.out.printf("Clips: pre-training draws from [0, %d); the probe trains on %d clips, is checked on %d "
                + "validation and scored on %d test clips, three disjoint index ranges.%n", run.pretrainClips(),
                run.trainClips(), run.valClips(), run.testClips());
        System.out.printf("Probes: ridge on the frozen embeddings, standardised per dimension, lambda per clip chosen"
                + " on the validation clips from %s; head: FinetuneTrainer's linear probe (head only, behind fc_norm),"
                + " AdamW without weight decay, lr %.3g per 256, %d steps of %d clips (warm-up %d, cosine to 0).%n",
                java.util.Arrays.toString(LAMBDAS), run.probeLr(), run.probeSteps(), run.probeBatch(),
                Math.min(10, run.probeSteps()));
        Map<String, List<ClassificationMetrics[]>> results = new java.util.LinkedHashMap<>();
        for (long seed : seeds) {
            bench.runSeed(run, seed, labels, results);
        }
        if (seeds.length > 1) {
            summary(labels, results, seeds.length, run.pretrainSteps());
        }
        System.out.printf("%nLoad average at the end %.2f.%n", loadAverage());
    }

    /** Lengths, batches and rates of one bench run (the same for every seed). */
    private record Run(int pretrainSteps, int pretrainBatch, double pretrainLr, int pretrainClips, int probeSteps,
            int probeBatch, double probeLr, int trainClips, int valClips, int testClips) {}

    private static long[] seeds(String value) {
        try {
            return java.util.Arrays.stream(value.split(",")).mapToLong(Long::parseLong).toArray();
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Invalid value " + value + " for configuration --seeds: "
                    + "must be whole numbers separated by commas", e);
        }
    }

    /** A flag's value as a number, or an error naming the flag and value. */
    private static double number(String value, String flag) {
        try {
            return Double.parseDouble(value);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("Invalid value " + value + " for configuration " + flag
                    + ": not a number", e);
        }
    }

    /** A flag's value as a count: a whole number, at least 1 (at least 0 for --pretrain-steps). */
    private static int count(Map<String, String> flags, String flag) {
        double v = number(flags.get(flag), flag);
        int min = flag.equals("--pretrain-steps") ? 0 : 1;
        if (v != Math.rint(v) || v < min || v > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("Invalid value " + flags.get(flag) + " for configuration " + flag
                    + ": must be a whole number of at least " + min);
        }
        return (int) v;
    }

    private static GeneratedClips.Variation variation(String value) {
        try {
            return GeneratedClips.Variation.valueOf(value.toUpperCase(java.util.Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Invalid value " + value
                    + " for configuration --variation: must be none or nuisance", e);
        }
    }

    private static double loadAverage() {
        return java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
    }

    /**
     * Pre-trains from {@code seed}, then probes every label on the checkpoint and on the random initialisation;
     * prints one table per label and adds {validation, test} metrics under "label/backbone" to {@code results}.
     */
    private void runSeed(Run run, long seed, List<Label> labels, Map<String, List<ClassificationMetrics[]>> results) {
        double base = run.pretrainLr() * 256 / run.pretrainBatch();
        TrainOptions pretrain = new TrainOptions(base, base / 30, Math.min(20, run.pretrainSteps()),
                Math.max(1, run.pretrainSteps()), run.pretrainBatch(), 0, AdamW.Settings.pretraining());
        System.out.printf("%n## Model seed %d%n%n", seed);
        try (PretrainTrainer trainer = new PretrainTrainer(config, pretrain, Device.cpu(), seed);
                NDManager keep = NDManager.newBaseManager()) {
            Map<String, NDArray> random = copy(StateDict.arrays(trainer.model()), keep);
            long t0 = System.nanoTime();
            List<StepLosses> losses = pretrain(trainer, run.pretrainSteps(), run.pretrainBatch(),
                    run.pretrainClips());
            double pretrainSeconds = (System.nanoTime() - t0) / 1e9;
            if (!losses.isEmpty()) {
                StepLosses last = losses.get(losses.size() - 1);
                System.out.printf("Pre-training: %d steps of %d clips (peak lr %.3g, warm-up %d, cosine), %.0f s;%n"
                        + "first step %s%nlast step  %s%n", run.pretrainSteps(), run.pretrainBatch(),
                        run.pretrainLr(), pretrain.warmupSteps(), pretrainSeconds, losses.get(0), last);
                if (!Float.isFinite(last.total())) {
                    throw new IllegalStateException("pre-training diverged; lower --pretrain-lr");
                }
            }
            Map<String, NDArray> pretrained = copy(StateDict.arrays(trainer.model()), keep);
            String trainedName = "pre-trained (" + run.pretrainSteps() + " steps)";
            String randomName = "random init (same seed, 0 steps)";
            Features trainedFeatures = features(trainedName, pretrained, seed + 1, run);
            Features randomFeatures = features(randomName, random, seed + 1, run);
            for (Label label : labels) {
                FinetuneOptions probe = FinetuneOptions.linearProbe(Task.classification(label.classes()),
                        run.probeLr(), Math.min(10, run.probeSteps()), run.probeSteps(), run.probeBatch());
                System.out.printf("%n### %s (%d classes, chance %.1f%%), seed %d%n%n", label.name(),
                        label.classes(), 100.0 / label.classes(), seed);
                System.out.println("| probe | backbone | val WAR % | test WAR % | test UAR % | test macro F1 % "
                        + "| detail |");
                System.out.println("|---|---|--:|--:|--:|--:|---|");
                results.computeIfAbsent(label.name() + "/ridge/pre-trained", k -> new ArrayList<>())
                        .add(ridge(trainedName, trainedFeatures, label, run));
                results.computeIfAbsent(label.name() + "/ridge/random", k -> new ArrayList<>())
                        .add(ridge(randomName, randomFeatures, label, run));
                results.computeIfAbsent(label.name() + "/head/pre-trained", k -> new ArrayList<>())
                        .add(probe(trainedName, pretrained, probe, label, seed + 1, run));
                results.computeIfAbsent(label.name() + "/head/random", k -> new ArrayList<>())
                        .add(probe(randomName, random, probe, label, seed + 1, run));
            }
        }
    }

    /** Ridge strengths per clip that the ridge probe tries; the validation clips choose one. */
    private static final double[] LAMBDAS = {1e-4, 1e-3, 1e-2, 1e-1, 1};

    /** Frozen encoder embeddings (before {@code fc_norm}) and indices of the probe-train, validation and test clips. */
    private record Features(float[][] train, float[][] val, float[][] test) {}

    /** The backbone's embeddings of the probe-train, validation and test clips. */
    private Features features(String name, Map<String, NDArray> weights, long seed, Run run) {
        FinetuneOptions options = FinetuneOptions.linearProbe(Task.classification(2), run.probeLr(), 1, 1, 1);
        try (FinetuneTrainer trainer = new FinetuneTrainer(config, options, Device.cpu(), seed)) {
            trainer.loadPretrained(weights, name);
            return new Features(embed(trainer, TRAIN_FROM, run.trainClips(), run.probeBatch()),
                    embed(trainer, VAL_FROM, run.valClips(), run.probeBatch()),
                    embed(trainer, TEST_FROM, run.testClips(), run.probeBatch()));
        }
    }

    private float[][] embed(FinetuneTrainer trainer, long from, int count, int batch) {
        float[][] out = new float[count][];
        for (int done = 0; done < count; done += batch) {
            long[] indices = indices(from + done, Math.min(batch, count - done));
            try (NDManager step = trainer.newStepManager()) {
                Inputs in = inputs(step, indices, null);
                ParameterStore store = new ParameterStore(step, false);
                NDArray[] e = new NDArray[1];
                Autograd.untracked(() -> e[0] = trainer.model().embed(store, in.video, in.audio, false, Trace.OFF));
                long width = e[0].getShape().get(1);
                float[] flat = e[0].toFloatArray();
                for (int i = 0; i < indices.length; i++) {
                    out[done + i] = java.util.Arrays.copyOfRange(flat, (int) (i * width), (int) ((i + 1) * width));
                }
            }
        }
        return out;
    }

    private static long[] indices(long from, int n) {
        long[] indices = new long[n];
        for (int i = 0; i < n; i++) {
            indices[i] = from + i;
        }
        return indices;
    }

    private int[] labels(Label label, long from, int count) {
        int[] out = new int[count];
        for (int i = 0; i < count; i++) {
            out[i] = label.of().applyAsInt(clips.clip(from + i));
        }
        return out;
    }

    /** Ridge probe with the lambda that scores best on the validation clips; prints a row. */
    private ClassificationMetrics[] ridge(String name, Features f, Label label, Run run) {
        int[] train = labels(label, TRAIN_FROM, run.trainClips());
        int[] val = labels(label, VAL_FROM, run.valClips());
        int[] test = labels(label, TEST_FROM, run.testClips());
        RidgeProbe best = null;
        ClassificationMetrics bestVal = null;
        double bestLambda = 0;
        for (double lambda : LAMBDAS) {
            RidgeProbe p = RidgeProbe.fit(f.train(), train, label.classes(), lambda);
            ClassificationMetrics m = Metrics.classification(val, p.predict(f.val()), label.classes());
            if (bestVal == null || m.war() > bestVal.war()) {
                best = p;
                bestVal = m;
                bestLambda = lambda;
            }
        }
        ClassificationMetrics m = Metrics.classification(test, best.predict(f.test()), label.classes());
        System.out.printf("| ridge | %s | %.1f | %.1f | %.1f | %.1f | lambda %.0e |%n", name, 100 * bestVal.war(),
                100 * m.war(), 100 * m.uar(), 100 * m.macroF1(), bestLambda);
        return new ClassificationMetrics[] {bestVal, m};
    }

    /** Mean and sample standard deviation over the seeds of every label's metrics, per probe and backbone. */
    private static void summary(List<Label> labels, Map<String, List<ClassificationMetrics[]>> results, int n,
            int pretrainSteps) {
        System.out.printf("%n## Summary over %d seeds: mean ± sample std (percent)%n%n", n);
        System.out.println("| label | probe | backbone | val WAR | test WAR | test UAR | test macro F1 |");
        System.out.println("|---|---|---|--:|--:|--:|--:|");
        for (Label label : labels) {
            for (String probe : List.of("ridge", "head")) {
                for (String backbone : List.of("pre-trained", "random")) {
                    List<ClassificationMetrics[]> runs = results.get(label.name() + "/" + probe + "/" + backbone);
                    System.out.printf("| %s | %s | %s | %s | %s | %s | %s |%n", label.name(), probe,
                            backbone.equals("random") ? "random init" : "pre-trained (" + pretrainSteps + " steps)",
                            meanStd(runs, r -> r[0].war()), meanStd(runs, r -> r[1].war()),
                            meanStd(runs, r -> r[1].uar()), meanStd(runs, r -> r[1].macroF1()));
                }
            }
        }
    }

    private static String meanStd(List<ClassificationMetrics[]> runs,
            java.util.function.ToDoubleFunction<ClassificationMetrics[]> metric) {
        double[] v = runs.stream().mapToDouble(metric).map(x -> 100 * x).toArray();
        double mean = java.util.Arrays.stream(v).average().orElse(Double.NaN);
        double ss = java.util.Arrays.stream(v).map(x -> (x - mean) * (x - mean)).sum();
        return String.format("%.1f ± %.1f", mean, Math.sqrt(ss / Math.max(1, v.length - 1)));
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

    /** Trains the head on the probe-train clips; returns {validation, test} metrics and prints a table row. */
    private ClassificationMetrics[] probe(String name, Map<String, NDArray> weights, FinetuneOptions options,
            Label label, long seed, Run run) {
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
                    indices[i] = TRAIN_FROM + rng.nextInt(run.trainClips());
                }
                try (NDManager step = trainer.newStepManager()) {
                    Inputs in = inputs(step, indices, label);
                    Mixup.Mixed m = clean.apply(in.video, in.labels, rng);
                    loss = trainer.computeGradients(step, new FinetuneBatch(m.video(), in.audio, m.targets(), s));
                    trainer.applyGradients(step);
                }
            }
            ClassificationMetrics val = score(trainer, label, VAL_FROM, run.valClips(), batch);
            ClassificationMetrics test = score(trainer, label, TEST_FROM, run.testClips(), batch);
            System.out.printf("| head | %s | %.1f | %.1f | %.1f | %.1f | last loss %.4f, %.0f s |%n", name,
                    100 * val.war(), 100 * test.war(), 100 * test.uar(), 100 * test.macroF1(), loss,
                    (System.nanoTime() - t0) / 1e9);
            return new ClassificationMetrics[] {val, test};
        }
    }

    private static final long TRAIN_FROM = 1_000_000L;
    private static final long TEST_FROM = 2_000_000L;
    private static final long VAL_FROM = 3_000_000L;

    /** The trained probe's metrics on clips [from, from + count). */
    private ClassificationMetrics score(FinetuneTrainer trainer, Label label, long from, int count, int batch) {
        int[] labels = new int[count];
        int[] predictions = new int[count];
        for (int done = 0; done < count; done += batch) {
            int n = Math.min(batch, count - done);
            long[] indices = indices(from + done, n);
            try (NDManager step = trainer.newStepManager()) {
                Inputs in = inputs(step, indices, label);
                long[] pred = trainer.predict(in.video, in.audio).argMax(1).toLongArray();
                long[] truth = in.labels.toLongArray();
                for (int i = 0; i < n; i++) {
                    labels[done + i] = (int) truth[i];
                    predictions[done + i] = (int) pred[i];
                }
            }
        }
        return Metrics.classification(labels, predictions, label.classes());
    }

    private record Inputs(NDArray video, NDArray audio, NDArray labels) {}

    /** Clean inputs of the given clips: normalised frames, fbank without gain, labels (zeros if label is null). */
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
            labels[i] = label == null ? 0 : label.of().applyAsInt(c);
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
