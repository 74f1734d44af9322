package io.hicmae.runtime.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import io.hicmae.runtime.allreduce.AllReduceConfig;
import io.hicmae.runtime.allreduce.RingAllReduce;
import io.hicmae.runtime.allreduce.WireDtype;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.data.BatchAssembler;
import io.hicmae.runtime.data.GeneratedClips;
import io.hicmae.runtime.finetune.FinetuneBatch;
import io.hicmae.runtime.finetune.FinetuneBatchAssembler;
import io.hicmae.runtime.finetune.FinetuneOptions;
import io.hicmae.runtime.finetune.FinetuneTrainer;
import io.hicmae.runtime.finetune.Task;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.train.AbstractTrainer;
import io.hicmae.runtime.train.OverlappedUpdate;
import io.hicmae.runtime.train.PendingBackward;
import io.hicmae.runtime.train.PretrainTrainer;
import io.hicmae.runtime.train.StepPolicy;
import io.hicmae.runtime.train.TrainOptions;

import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * One data-parallel pre-training rank per process, for steps across emulated hosts ({@code bench/step-scaling/netns.sh}):
 * this JVM trains a preset on generated clips with its peers (other processes, given each other's addresses) and
 * times each step's compute (forward and backward), all-reduce and post-reduce update. Steps alternate between the
 * modes, so all see the same machine load: {@code plain} (all-reduce, then the optimiser), {@code overlap} (the
 * optimiser overlapped with a bucketed all-reduce, {@link OverlappedUpdate}) and {@code backward} (that bucketed
 * all-reduce also beside the backward pass, {@link OverlappedUpdate#reduceDuringBackward}, where the all-reduce row
 * is only what it added after the backward pass ended); every step starts with a one-float all-reduce so the
 * ranks start together. Rank 0 prints the medians of each mode and the overlap target
 * {@code step <= 1.10 x (compute + max(all-reduce, optimiser))}, the all-reduce and optimiser taken from the plain
 * steps.
 *
 * <p>Flags: {@code --rank R --peers host:port,... --secret-file F [--preset small] [--batch 2] [--steps 10]
 * [--warmup 2] [--bucket-mb 25] [--modes plain,overlap,backward] [--threads 1] [--allreduce-dtype fp32|bf16] [--job pretrain|finetune]}. {@code --job finetune} times full
 * fine-tuning (upstream's recipe) of the same preset instead of pre-training.
 */
public final class RankStepBench {

    private RankStepBench() {}

    public static void main(String[] args) throws Exception {
        int rank = -1;
        List<InetSocketAddress> peers = null;
        Path secretFile = null;
        String preset = "small";
        int batch = 2;
        int steps = 10;
        int warmup = 2;
        double bucketMb = 25;
        List<String> modes = List.of("plain", "overlap", "backward");
        int threads = 1;
        WireDtype dtype = WireDtype.FP32;
        String jobName = "pretrain";
        for (int i = 0; i < args.length; i += 2) {
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("Missing value for flag " + args[i]);
            }
            String v = args[i + 1];
            switch (args[i]) {
                case "--rank" -> rank = Integer.parseInt(v);
                case "--peers" -> peers = Arrays.stream(v.split(",")).map(RankStepBench::address).toList();
                case "--secret-file" -> secretFile = Path.of(v);
                case "--preset" -> preset = v;
                case "--batch" -> batch = Integer.parseInt(v);
                case "--steps" -> steps = Integer.parseInt(v);
                case "--warmup" -> warmup = Integer.parseInt(v);
                case "--bucket-mb" -> bucketMb = Double.parseDouble(v);
                case "--modes" -> modes = List.of(v.split(","));
                case "--threads" -> threads = Integer.parseInt(v);
                case "--allreduce-dtype" -> dtype = WireDtype.parse(v, "--allreduce-dtype");
                case "--job" -> jobName = v;
                default -> throw new IllegalArgumentException("Unknown flag " + args[i] + " (see RankStepBench's "
                        + "Javadoc for the flags)");
            }
        }
        if (rank < 0 || peers == null || secretFile == null) {
            throw new IllegalArgumentException("--rank, --peers and --secret-file are required");
        }
        for (String m : modes) {
            if (!m.equals("plain") && !m.equals("overlap") && !m.equals("backward")) {
                throw new IllegalArgumentException("Invalid mode " + m + " in --modes: plain, overlap or backward");
            }
        }
        if (!jobName.equals("pretrain") && !jobName.equals("finetune")) {
            throw new IllegalArgumentException("Invalid job " + jobName + " for --job: pretrain or finetune");
        }
        if (steps < 1 || warmup < 0) {
            throw new IllegalArgumentException("--steps must be >= 1 and --warmup >= 0");
        }
        ai.djl.engine.Engine.getEngine("PyTorch"); // loads libtorch, before its thread count can be set
        ai.djl.pytorch.jni.JniUtils.setNumThreads(threads);
        HicmaeConfig config = HicmaeConfig.preset(preset);
        int n = peers.size();
        AllReduceConfig ringConfig = AllReduceConfig.withDefaults(rank, peers, Files.readAllBytes(secretFile), 7L)
                .withTimeouts(Duration.ofMinutes(3), Duration.ofMinutes(5), Clock.systemUTC()).withWireDtype(dtype);
        int total = warmup + steps * modes.size();
        // [mode][measure][step]: compute, all-reduce, optimiser, step
        double[][][] ms = new double[modes.size()][4][steps];
        // backward mode: [the backward pass's first stage, the whole backward pass][step]; the first stage's floats
        double[][] stages = new double[2][steps];
        int[] firstStageFloats = new int[1];
        try (RingAllReduce ring = RingAllReduce.bind(peers.get(rank));
                Job<?> job = jobName.equals("finetune") ? new FinetuneJob(config, total, batch * n, batch)
                        : new PretrainJob(config, total, batch)) {
            AbstractTrainer<?> trainer = job.trainer;
            StepPolicy plain = StepPolicy.defaults();
            StepPolicy overlap = plain.withOverlapBucketMb(bucketMb);
            ring.connect(ringConfig);
            float[] sync = new float[1];
            SplittableRandom rng = new SplittableRandom(17 + rank);
            long tag = 0;
            for (int s = 0; s < total; s++) {
                int k = s < warmup ? s % modes.size() : (s - warmup) % modes.size();
                boolean duringBackward = modes.get(k).equals("backward");
                boolean overlapped = duringBackward || modes.get(k).equals("overlap");
                trainer.use(overlapped ? overlap : plain);
                try (NDManager m = trainer.newStepManager()) {
                    job.nextBatch(m, rng);
                    ring.allReduceMean(sync, tag++);
                    long t0 = System.nanoTime();
                    OverlappedUpdate u = overlapped ? trainer.overlappedUpdate() : null;
                    long t1;
                    if (duringBackward) {
                        PendingBackward f = job.forward(m);
                        long[] backward = new long[3]; // start, end of the first stage, end
                        backward[0] = System.nanoTime();
                        u.reduceDuringBackward(ring, tag++, written -> {
                            f.run(end -> {
                                if (backward[1] == 0) {
                                    backward[1] = System.nanoTime();
                                    firstStageFloats[0] = end;
                                }
                                written.accept(end);
                            });
                            backward[2] = System.nanoTime();
                        });
                        if (s >= warmup) {
                            int i = (s - warmup) / modes.size();
                            stages[0][i] = (backward[1] - backward[0]) / 1e6;
                            stages[1][i] = (backward[2] - backward[0]) / 1e6;
                        }
                        // compute: forward and backward; the all-reduce: what it took after the backward pass
                        t1 = backward[2];
                    } else {
                        job.computeGradients(m);
                        t1 = System.nanoTime();
                        if (u == null) {
                            ring.allReduceMean(trainer.gradientBytes(), tag++);
                        } else {
                            u.reduce(ring, tag++);
                        }
                    }
                    long t2 = System.nanoTime();
                    if (u == null) {
                        trainer.finishStep(m);
                    } else {
                        u.finish(m);
                    }
                    long t3 = System.nanoTime();
                    if (s >= warmup) {
                        int i = (s - warmup) / modes.size();
                        ms[k][0][i] = (t1 - t0) / 1e6;
                        ms[k][1][i] = (t2 - t1) / 1e6;
                        ms[k][2][i] = (t3 - t2) / 1e6;
                        ms[k][3][i] = (t3 - t0) / 1e6;
                    }
                }
            }
            if (rank == 0) {
                report(preset + (jobName.equals("finetune") ? " (fine-tuning)" : ""), batch, n, steps, bucketMb,
                        trainer.parameterCount(), dtype, modes, ms);
                if (modes.contains("backward")) {
                    System.out.printf("backward: its first stage (all above the encoder blocks) took %.1f of the"
                            + " backward pass's %.1f ms (medians) and wrote %.1f M of the %.1f M gradient floats;"
                            + " nothing is on the wire before it ends%n", median(stages[0]), median(stages[1]),
                            firstStageFloats[0] / 1e6, trainer.parameterCount() / 1e6);
                }
            }
        }
    }

    /** One rank's trainer and the two halves of its step on a batch of generated clips. */
    private abstract static class Job<T extends AbstractTrainer<?>> implements AutoCloseable {
        final T trainer;
        final GeneratedClips clips;
        final int batch;

        Job(T trainer, HicmaeConfig config, int batch) {
            this.trainer = trainer;
            this.clips = new GeneratedClips(config, 1, 8);
            this.batch = batch;
        }

        /** Draws and assembles the next batch into {@code m} (not timed). */
        abstract void nextBatch(NDManager m, SplittableRandom rng);

        /** Forward and backward on the batch. */
        abstract void computeGradients(NDManager m);

        /** The forward pass on the batch; its backward pass still to run. */
        abstract PendingBackward forward(NDManager m);

        @Override
        public void close() {
            trainer.close();
        }
    }

    /** Pre-training on generated clips with their masks. */
    private static final class PretrainJob extends Job<PretrainTrainer> {
        private final BatchAssembler assembler;
        private PretrainBatch next;

        PretrainJob(HicmaeConfig config, int totalSteps, int batch) {
            super(new PretrainTrainer(config,
                    new TrainOptions(3e-4, 1e-5, 0, totalSteps, 256, 0, AdamW.Settings.pretraining()), Device.cpu(),
                    1), config, batch);
            this.assembler = new BatchAssembler(config, true);
        }

        @Override
        void nextBatch(NDManager m, SplittableRandom rng) {
            GeneratedClips.Drawn drawn = clips.draw(batch, 64, rng);
            next = assembler.assemble(m, drawn.frames(), drawn.pcm(), rng);
        }

        @Override
        void computeGradients(NDManager m) {
            trainer.computeGradients(m, next);
        }

        @Override
        PendingBackward forward(NDManager m) {
            return trainer.forward(m, next).backward();
        }
    }

    /**
     * Full fine-tuning (upstream's recipe: stochastic depth, mixup, layer decay) of a randomly initialised model on
     * generated clips with random labels of 7 classes; the step's cost does not depend on the weights.
     */
    private static final class FinetuneJob extends Job<FinetuneTrainer> {
        private final FinetuneBatchAssembler assembler;
        private FinetuneBatch next;

        FinetuneJob(HicmaeConfig config, int totalSteps, int globalBatch, int batch) {
            this(config, FinetuneOptions.recipe(Task.classification(7), 0, totalSteps, globalBatch), batch);
        }

        private FinetuneJob(HicmaeConfig config, FinetuneOptions options, int batch) {
            super(new FinetuneTrainer(config, options, Device.cpu(), 1), config, batch);
            this.assembler = new FinetuneBatchAssembler(config, options);
        }

        @Override
        void nextBatch(NDManager m, SplittableRandom rng) {
            GeneratedClips.Drawn drawn = clips.draw(batch, 64, rng);
            long[] labels = rng.longs(batch, 0, 7).toArray();
            next = assembler.train(m, drawn.frames(), drawn.pcm(), labels, rng, rng.nextLong());
        }

        @Override
        void computeGradients(NDManager m) {
            trainer.computeGradients(m, next);
        }

        @Override
        PendingBackward forward(NDManager m) {
            return trainer.forward(m, next).backward();
        }
    }

    private static void report(String preset, int batch, int n, int steps, double bucketMb, long params,
            WireDtype dtype, List<String> modes, double[][][] ms) {
        System.out.printf("preset %s, batch %d per rank, %d ranks, %d parameters (%.0f MB of fp32 gradients), wire %s,"
                + " %d timed steps per mode, buckets of %s MB; load %.2f%n", preset, batch, n, params,
                params * 4 / 1e6, dtype, steps, bucketMb,
                ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
        double[] plain = null;
        for (int k = 0; k < modes.size(); k++) {
            double[] med = new double[4];
            for (int j = 0; j < 4; j++) {
                med[j] = median(ms[k][j]);
            }
            System.out.printf("%s: step %.1f ms = compute %.1f + all-reduce %.1f + optimiser %.1f (medians)%n",
                    modes.get(k), med[3], med[0], med[1], med[2]);
            if (modes.get(k).equals("plain")) {
                plain = med;
            }
        }
        if (plain != null) {
            double bound = plain[0] + Math.max(plain[1], plain[2]);
            System.out.printf("plain compute + max(all-reduce, optimiser) = %.1f ms; target 1.10 x that = %.1f ms;"
                    + " plain sum compute + all-reduce + optimiser = %.1f ms%n", bound, 1.1 * bound,
                    plain[0] + plain[1] + plain[2]);
            for (int k = 0; k < modes.size(); k++) {
                double step = median(ms[k][3]);
                System.out.printf("%s step / (compute + max(all-reduce, optimiser)) = %.3f%n", modes.get(k),
                        step / bound);
            }
        }
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static InetSocketAddress address(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        if (colon <= 0) {
            throw new IllegalArgumentException("Invalid peer " + hostPort + " in --peers: expected host:port");
        }
        return new InetSocketAddress(hostPort.substring(0, colon), Integer.parseInt(hostPort.substring(colon + 1)));
    }
}
