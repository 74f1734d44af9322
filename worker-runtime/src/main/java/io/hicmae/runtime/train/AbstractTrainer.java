package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import ai.djl.ndarray.types.DataType;
import io.hicmae.runtime.model.BackwardCuts;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.nn.HicmaeBlock;
import io.hicmae.runtime.nn.Precision;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.optim.LrSchedule;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.function.IntConsumer;
import java.util.function.ToDoubleFunction;
import java.util.function.ToIntFunction;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One rank's training state and the half of a step that pre-training and fine-tuning share: the trained parameters'
 * gradients in one contiguous float buffer (what the all-reduce syncs), AdamW on a per-step lr schedule, the step
 * count and the state a checkpoint saves. A subclass adds the forward and backward that fill the buffer.
 * Parameters and moments live in the trainer's manager; everything else of a step lives in the step manager the
 * caller opens with {@link #newStepManager()} and closes when the step ends.
 *
 * <p>After the all-reduce, {@link #finishStep} runs the one post-reduce order of every job: the global gradient norm
 * and finite check over the reduced buffer; in fp16 the unscale, where an inf/NaN is an overflow the loss scaler
 * skips (lowering the scale); in fp32 a non-finite buffer skips the step and counts toward
 * {@link StepPolicy#maxNonFiniteSteps()} in a row, beyond which the attempt fails
 * ({@link NonFiniteGradientsException}); clipping (never with a non-finite norm); then AdamW. Every rank holds the
 * same reduced buffer, so every rank takes the same decision.
 *
 * @param <M> the model
 */
public abstract class AbstractTrainer<M extends HicmaeBlock> implements AutoCloseable {

    protected final M model;
    protected final ParameterStore store;
    private final NDManager manager;
    private final List<Parameter> parameters;
    private final List<String> keys;
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final double clipGrad;
    private final GradientBuffer gradients;
    /** Per backward stage, the end (exclusive) of its parameters in buffer order. */
    private final int[] stageEnds;
    /** Runs a gradient all-reduce beside the backward pass (started by the first such step). */
    private ExecutorService reducer;
    private final NDArray counters; // (4) int64: AdamW steps, scaler clean steps, skipped steps, reserved
    private final NDArray scaleState; // (1) float64: the loss scale
    private StepPolicy policy = StepPolicy.defaults();
    private LossScaler scaler = new LossScaler(policy.scaler());
    private int nonFiniteInARow;
    private long skippedSteps;
    private long step;
    /** Saved parameters and moments for overlapped steps (allocated by the first one). */
    private AdamW.Snapshot snapshot;
    /** Whether the next overlapped step updates buckets before its global decisions (see {@link #settle}). */
    private boolean speculate = true;

    private static final Logger LOG = LogManager.getLogger(AbstractTrainer.class);
    /** Checkpoint keys of the post-reduce state beside the moments (absent in older checkpoints). */
    static final String COUNTERS_KEY = "optim.counters";
    static final String SCALE_KEY = "optim.loss_scale";

    /**
     * Initialises {@code model} on {@code device} from {@code seed} (the same seed gives the same weights on every
     * rank) and sets up the optimiser over the parameters it trains.
     *
     * @param trains which parameter keys the optimiser updates; the others are frozen (no gradient, not in the
     *               buffer)
     * @param lrScale each trained key's lr multiplier (layer decay; 1 for all in pre-training)
     * @param clipGrad max global gradient L2 norm before the step, or 0 for none
     */
    protected AbstractTrainer(M model, Device device, long seed, Predicate<String> trains, AdamW.Settings adamw,
            ToDoubleFunction<String> lrScale, LrSchedule schedule, double clipGrad) {
        this(model, device, seed, trains, key -> 0, adamw, lrScale, schedule, clipGrad);
    }

    /**
     * As above, for a backward pass in stages ({@link #backwardInStages}): {@code readyStage} gives each trained key
     * the stage whose end finishes its gradient (0 first). The gradient buffer holds the parameters by stage, so
     * that each stage's floats follow the previous stage's and an all-reduce can start at the front.
     */
    protected AbstractTrainer(M model, Device device, long seed, Predicate<String> trains,
            ToIntFunction<String> readyStage, AdamW.Settings adamw, ToDoubleFunction<String> lrScale,
            LrSchedule schedule, double clipGrad) {
        this.model = model;
        this.manager = NDManager.newBaseManager(device);
        EngineRandom.initialize(model, manager, seed);
        this.store = new ParameterStore(manager, false);
        Map<String, Parameter> byKey = new LinkedHashMap<>();
        StateDict.parameters(model).forEach((k, p) -> {
            if (trains.test(k)) {
                byKey.put(k, p);
            } else {
                p.freeze(true);
            }
        });
        List<String> ordered = new ArrayList<>(byKey.keySet());
        ordered.sort(Comparator.comparingInt(readyStage)); // stable: the key order within a stage
        Map<String, Parameter> trained = new LinkedHashMap<>();
        ordered.forEach(k -> trained.put(k, byKey.get(k)));
        int stages = ordered.isEmpty() ? 1 : readyStage.applyAsInt(ordered.get(ordered.size() - 1)) + 1;
        this.stageEnds = new int[stages];
        for (int k = 0, s = 0; s < stages; s++) {
            while (k < ordered.size() && readyStage.applyAsInt(ordered.get(k)) <= s) {
                k++;
            }
            stageEnds[s] = k;
        }
        this.parameters = new ArrayList<>(trained.values());
        this.keys = new ArrayList<>(trained.keySet());
        this.optimizer = new AdamW(trained, adamw, lrScale, manager);
        this.schedule = schedule;
        this.clipGrad = clipGrad;
        this.gradients = new GradientBuffer(parameters);
        this.counters = manager.zeros(new Shape(4), DataType.INT64);
        this.scaleState = manager.zeros(new Shape(1), DataType.FLOAT64);
    }

    /**
     * Sets the precision, the non-finite limit, the loss scaler and the optimiser implementation; call before the
     * first step (a restored checkpoint's loss scale is kept).
     */
    public void use(StepPolicy p) {
        this.policy = p;
        this.scaler = new LossScaler(p.scaler());
    }

    public StepPolicy policy() {
        return policy;
    }

    /** The current loss scale (1 in fp32). */
    public double lossScale() {
        return policy.precision() == Precision.FP16 ? scaler.scale() : 1.0;
    }

    /** Runs a forward pass with gradient recording on, in the policy's precision. */
    protected <T> T recordForward(Supplier<T> forward) {
        return Precision.with(policy.precision(), () -> Autograd.record(forward));
    }

    /** Runs an evaluation forward pass without gradient recording, in the policy's precision. */
    protected <T> T untrackedForward(Supplier<T> forward) {
        Object[] out = new Object[1];
        Autograd.untracked(() -> out[0] = Precision.with(policy.precision(), forward));
        @SuppressWarnings("unchecked")
        T t = (T) out[0];
        return t;
    }

    /**
     * The backward pass of {@code loss} (fp16: times the loss scale; the gradients are unscaled after the reduce) in
     * the stages of {@code cuts}. With {@code floatsWritten}, each stage's gradients are copied into the buffer as
     * soon as the stage ends, and {@code floatsWritten} is told the end of the buffer's written floats; with null,
     * all are copied at the end (one device-to-host copy pass on a GPU, not one per stage).
     *
     * @throws IllegalStateException when the cuts do not make the trainer's stages
     */
    protected void backwardInStages(NDArray loss, BackwardCuts cuts, NDManager stepManager,
            IntConsumer floatsWritten) {
        if (cuts.count() + 1 != stageEnds.length) {
            throw new IllegalStateException("a backward pass with " + cuts.count() + " cuts makes " + (cuts.count() + 1)
                    + " stages; this trainer's buffer has " + stageEnds.length);
        }
        NDArray root = policy.precision() == Precision.FP16
                ? Autograd.record(() -> loss.mul(scaler.scale())) // recorded: the scaled loss needs a path back
                : loss;
        if (floatsWritten == null) {
            cuts.backward(root, stage -> { });
            gradients.collect(stepManager);
            return;
        }
        cuts.backward(root, stage -> {
            int from = stage == 0 ? 0 : stageEnds[stage - 1];
            gradients.collect(stepManager, from, stageEnds[stage]);
            floatsWritten.accept(Math.toIntExact(gradients.offset(stageEnds[stage])));
        });
    }

    /**
     * The backward pass of a recorded forward pass, to run once: {@link #backwardInStages} telling its listener each
     * stage's written floats.
     */
    protected PendingBackward pendingBackward(NDArray loss, BackwardCuts cuts, NDManager stepManager) {
        boolean[] ran = new boolean[1];
        return floatsWritten -> {
            if (ran[0]) {
                throw new IllegalStateException("this forward pass's backward pass already ran");
            }
            ran[0] = true;
            backwardInStages(loss, cuts, stepManager, Objects.requireNonNull(floatsWritten));
        };
    }

    /**
     * The stage function of a model cut by {@link BackwardCuts}: cut {@code c} of {@code n} (owning the key prefixes
     * {@code owners.get(c)}) is back-propagated in stage {@code n - c}; parameters above every cut in stage 0.
     */
    protected static ToIntFunction<String> stagesOfCuts(List<List<String>> owners) {
        return key -> {
            for (int c = 0; c < owners.size(); c++) {
                for (String prefix : owners.get(c)) {
                    if (key.startsWith(prefix)) {
                        return owners.size() - c;
                    }
                }
            }
            return 0;
        };
    }

    /** The thread that runs a gradient all-reduce beside the backward pass ({@link OverlappedUpdate}). */
    synchronized ExecutorService reducer() {
        if (reducer == null) {
            reducer = Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "gradient-all-reduce");
                t.setDaemon(true);
                return t;
            });
        }
        return reducer;
    }

    public M model() {
        return model;
    }

    /** A manager for one step's arrays, on the model's device; close it when the step ends. */
    public NDManager newStepManager() {
        return manager.newSubManager();
    }

    /** The gradient buffer: {@link #parameterCount()} floats in {@link #parameterKeys()} order. */
    public FloatBuffer gradients() {
        return gradients.buffer();
    }

    /** The gradient buffer's bytes, native order, for an all-reduce without copies (see {@link GradientBuffer#bytes}). */
    public ByteBuffer gradientBytes() {
        return gradients.bytes();
    }

    /** L2 norm of the gradient buffer. */
    public double gradientNorm() {
        return gradients.norm();
    }

    /**
     * One trained parameter's slice of the gradient buffer, shaped like the parameter, in {@code m}.
     *
     * @throws IllegalArgumentException when {@code key} is not a trained parameter
     */
    public NDArray gradientOf(String key, NDManager m) {
        long offset = 0;
        for (int i = 0; i < keys.size(); i++) {
            Shape shape = parameters.get(i).getShape();
            if (keys.get(i).equals(key)) {
                float[] slice = new float[Math.toIntExact(shape.size())];
                gradients.buffer().duplicate().position(Math.toIntExact(offset)).get(slice);
                return m.create(slice, shape);
            }
            offset += shape.size();
        }
        throw new IllegalArgumentException("no trained parameter " + key);
    }

    /** {@link #finishStep}, returning only the scheduled lr. */
    public double applyGradients(NDManager stepManager) {
        return finishStep(stepManager).lr();
    }

    /**
     * The post-reduce half of a step on the (all-reduced) gradient buffer, in the one order every job uses: global
     * norm and finite check, fp16 unscale and overflow skip, clip, AdamW at this step's scheduled lr (each parameter's
     * lr times its scale). A skipped step still counts as a step (its batch is consumed) but changes no parameter,
     * moment or AdamW step count.
     *
     * @throws NonFiniteGradientsException when this is one non-finite step in a row more than the policy allows
     */
    public StepOutcome finishStep(NDManager stepManager) {
        return settle(stepManager, gradients.norm(), null);
    }

    /**
     * This step's post-reduce half overlapped with a bucketed all-reduce of the gradient buffer (see
     * {@link OverlappedUpdate}), or null when the policy does not overlap ({@link StepPolicy#overlapBucketMb()} 0)
     * or the fused optimiser cannot run (parameters off the CPU, or the engine-operations optimiser): then
     * all-reduce {@link #gradientBytes()} and call {@link #finishStep}.
     */
    public OverlappedUpdate overlappedUpdate() {
        if (policy.overlapBucketMb() == 0 || policy.optimizer() != StepPolicy.OptimizerKind.FUSED
                || !optimizer.canFuse()) {
            return null;
        }
        AdamW.Snapshot saved = null;
        if (speculate) {
            if (snapshot == null) {
                snapshot = optimizer.newSnapshot(manager);
            }
            saved = snapshot;
        }
        double scale = policy.precision() == Precision.FP16 ? scaler.scale() : 1.0;
        return new OverlappedUpdate(this, gradients, bucketEnds(policy.overlapBucketMb()), optimizer, saved,
                schedule.at(step), 1.0 / scale);
    }

    /** Bucket ends of about {@code mb} MB of floats each, every start a multiple of the norm's lanes. */
    private int[] bucketEnds(double mb) {
        long per = Math.max(GradientBuffer.NORM_LANES,
                (long) (mb * 1e6 / Float.BYTES) / GradientBuffer.NORM_LANES * GradientBuffer.NORM_LANES);
        int n = Math.toIntExact(gradients.size());
        int buckets = Math.toIntExact(Math.max(1, (n + per - 1) / per));
        int[] ends = new int[buckets];
        for (int b = 0; b < buckets - 1; b++) {
            ends[b] = Math.toIntExact((b + 1) * per);
        }
        ends[buckets - 1] = n;
        return ends;
    }

    /**
     * The decisions of {@link #finishStep} on the norm {@code raw} of the reduced buffer, then the update; with
     * {@code overlapped} not null its speculative update stands when the step is applied unclipped, and is taken
     * back (and the step taken as without overlap) otherwise.
     */
    StepOutcome settle(NDManager stepManager, double raw, OverlappedUpdate overlapped) {
        double lr = schedule.at(step);
        boolean fp16 = policy.precision() == Precision.FP16;
        double scale = fp16 ? scaler.scale() : 1.0;
        double norm = raw / scale;
        StepOutcome.Skip skip = null;
        boolean clipped = false;
        if (!Double.isFinite(raw)) {
            if (overlapped != null) {
                overlapped.takeBack();
            }
            skippedSteps++;
            if (fp16) {
                skip = StepOutcome.Skip.OVERFLOW;
                scaler.update(false);
                LOG.info("step {}: fp16 overflow at loss scale {}; step skipped, scale now {}", step + 1, scale,
                        scaler.scale());
            } else {
                skip = StepOutcome.Skip.NONFINITE;
                nonFiniteInARow++;
                long bad = gradients.firstNonFinite();
                String key = keys.get(gradients.parameterAt(bad));
                if (nonFiniteInARow > policy.maxNonFiniteSteps()) {
                    throw new NonFiniteGradientsException(step, nonFiniteInARow, policy.maxNonFiniteSteps(), key,
                            gradients.buffer().get(Math.toIntExact(bad)));
                }
                LOG.warn("step {}: non-finite reduced gradients (first: {}); optimiser step skipped ({} in a row, "
                        + "max-nonfinite-steps {})", step + 1, key, nonFiniteInARow, policy.maxNonFiniteSteps());
            }
        } else {
            nonFiniteInARow = 0;
            double multiplier = 1.0 / scale;
            if (clipGrad > 0 && norm > clipGrad) {
                multiplier *= clipGrad / (norm + 1e-6);
                clipped = true;
            }
            double factor = multiplier;
            if (overlapped != null && overlapped.updatedAll(lr, factor)) {
                LOG.trace("step {}: the overlapped update stands", step + 1);
            } else {
                if (overlapped != null) {
                    overlapped.takeBack();
                }
                if (policy.optimizer() == StepPolicy.OptimizerKind.FUSED && optimizer.canFuse()) {
                    optimizer.begin(lr, factor).apply(gradients.buffer(), 0, gradients.size());
                } else {
                    List<NDArray> perParameter = gradients.perParameter(stepManager, factor);
                    Autograd.untracked(() -> optimizer.step(perParameter, lr, stepManager));
                }
            }
            if (fp16) {
                scaler.update(true);
            }
        }
        // A clipped or skipped step is likely followed by another: the next overlapped step then does not speculate.
        speculate = skip == null && !clipped;
        step++;
        return new StepOutcome(lr, norm, skip, scale, skippedSteps);
    }

    /** Steps skipped so far (non-finite and fp16 overflow together). */
    public long skippedSteps() {
        return skippedSteps;
    }

    /** Optimiser steps taken. */
    public long step() {
        return step;
    }

    /** Scalars in the gradient buffer (the trained parameters only). */
    public long parameterCount() {
        return gradients.size();
    }

    /** Trained parameter keys in buffer order (what the ranks hash before the all-reduce). */
    public List<String> parameterKeys() {
        return List.copyOf(keys);
    }

    /**
     * The training state to save: every parameter (frozen ones too), the moments, the step, and the post-reduce
     * state ({@value #COUNTERS_KEY}: AdamW steps, loss-scaler clean steps, skipped steps; {@value #SCALE_KEY});
     * live arrays.
     */
    public TrainingState state() {
        counters.set(new long[] {optimizer.stepCount(), scaler.cleanSteps(), skippedSteps, 0});
        scaleState.set(new double[] {scaler.scale()});
        Map<String, NDArray> moments = new LinkedHashMap<>(optimizer.moments());
        moments.put(COUNTERS_KEY, counters);
        moments.put(SCALE_KEY, scaleState);
        return new TrainingState(StateDict.arrays(model), moments, step);
    }

    /**
     * Restores a saved state; every key and shape is checked before anything changes. A state without the
     * post-reduce keys (written before they existed) resumes with AdamW's step count equal to the step and a fresh
     * loss scaler.
     */
    public void restore(TrainingState state, String origin) {
        NDArray savedCounters = state.moments().get(COUNTERS_KEY);
        NDArray savedScale = state.moments().get(SCALE_KEY);
        if ((savedCounters == null) != (savedScale == null)
                || savedCounters != null && (savedCounters.size() != 4 || savedScale.size() != 1)) {
            throw new IllegalArgumentException(origin + ": optimiser state " + COUNTERS_KEY + " / " + SCALE_KEY
                    + " is incomplete or has the wrong size");
        }
        state.restoreInto(model, optimizer, origin);
        step = state.step();
        nonFiniteInARow = 0;
        if (savedCounters != null) {
            long[] c = savedCounters.toLongArray();
            optimizer.setStepCount(c[0]);
            scaler.restore(savedScale.toDoubleArray()[0], c[1]);
            skippedSteps = c[2];
        }
    }

    @Override
    public void close() {
        synchronized (this) {
            if (reducer != null) {
                reducer.shutdownNow();
            }
        }
        if (snapshot != null) {
            snapshot.close();
        }
        optimizer.close();
        manager.close();
    }
}
