package io.hicmae.runtime.finetune;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.loss.SoftTargetCrossEntropy;
import io.hicmae.runtime.model.HicmaeFinetuneModel;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.model.Trace;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.optim.LayerDecay;
import io.hicmae.runtime.optim.LrSchedule;
import io.hicmae.runtime.train.Autograd;
import io.hicmae.runtime.train.GradientBuffer;
import io.hicmae.runtime.train.EngineRandom;
import io.hicmae.runtime.train.TrainingState;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One rank's fine-tuning state and step, shaped like {@code PretrainTrainer}: {@link #computeGradients} runs forward
 * and backward and leaves the trained parameters' gradients in one contiguous float buffer (what the all-reduce
 * syncs); {@link #applyGradients} runs AdamW, each parameter's lr scaled by {@link LayerDecay}.
 *
 * <p>Loss: soft-target cross-entropy for classification (the targets carry label smoothing and mixup, see
 * {@link Mixup}); MSE over all elements for regression (upstream's default {@code --loss mse}).
 *
 * <p>Linear probe: only {@code head.weight} and {@code head.bias} are trained, as MAE's linear-probe convention
 * trains only the classifier on frozen features. Every other parameter is frozen (no gradient, left out of the
 * optimiser and of the gradient buffer): the layer logits stay at the checkpoint's values (uniform 1/L for a
 * pre-training checkpoint) and {@code fc_norm} at its fresh 1/0, where it acts as a fixed per-clip standardisation of
 * the feature, the role MAE gives a non-affine BatchNorm. The backbone runs without stochastic depth.
 *
 * <p>Stochastic depth draws from the engine's process-wide generator, seeded per batch by
 * {@link FinetuneBatch#dropPathSeed()} (ranks in one JVM take turns on the forward pass while it is on), so that a
 * step depends only on the state and the batch, and a resumed run is bit-exact.
 *
 * <p>Dimensions: B batch, Q classes or D regression dimensions.
 */
public final class FinetuneTrainer implements AutoCloseable {

    private static final String HEAD = "head.";
    private static final String FC_NORM = "fc_norm.";

    private final HicmaeConfig config;
    private final FinetuneOptions options;
    private final NDManager manager;
    private final HicmaeFinetuneModel model;
    private final ParameterStore store;
    private final List<Parameter> parameters;
    private final List<String> keys;
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final GradientBuffer gradients;
    private long step;

    /**
     * Builds the fine-tuning model on {@code device}, initialised from {@code seed}; load a checkpoint next with
     * {@link #loadPretrained} or {@link #loadFinetuned}.
     */
    public FinetuneTrainer(HicmaeConfig config, FinetuneOptions options, Device device, long seed) {
        this.config = config;
        this.options = options;
        this.manager = NDManager.newBaseManager(device);
        this.model = new HicmaeFinetuneModel(config, options.task().outputs(), options.dropPath());
        EngineRandom.initialize(model, manager, seed);
        this.store = new ParameterStore(manager, false);
        Map<String, Parameter> trained = new LinkedHashMap<>();
        StateDict.parameters(model).forEach((k, p) -> {
            if (!options.linearProbe() || k.startsWith(HEAD)) {
                trained.put(k, p);
            } else {
                p.freeze(true);
            }
        });
        this.parameters = new ArrayList<>(trained.values());
        this.keys = new ArrayList<>(trained.keySet());
        this.optimizer = new AdamW(trained, options.adamw(), new LayerDecay(config, options.layerDecay())::scale,
                manager);
        this.schedule = options.schedule();
        this.gradients = new GradientBuffer(parameters);
    }

    /**
     * Starts fine-tuning from a pre-training checkpoint, loaded by the authors' keys as upstream's
     * {@code load_state_dict} does: the encoders and the fusion encoder are required, decoders and mask tokens are
     * ignored, the layer logits come from the checkpoint when it has them (else 1/L), and {@code head} and
     * {@code fc_norm} keep their fresh initialisation whatever the checkpoint holds.
     *
     * @param origin names the checkpoint in error messages
     * @throws IllegalArgumentException naming a missing key or the first wrong shape (nothing is changed)
     */
    public void loadPretrained(Map<String, NDArray> checkpoint, String origin) {
        Map<String, NDArray> source = new LinkedHashMap<>(checkpoint);
        StateDict.arrays(model).forEach((k, v) -> {
            if (k.startsWith(HEAD) || k.startsWith(FC_NORM)) {
                source.put(k, v);
            }
        });
        Autograd.untracked(() -> model.loadWeights(source, origin));
    }

    /**
     * Loads a fine-tuned checkpoint (to evaluate or to continue): every key of the fine-tuning model is required;
     * keys it does not have (decoders) are ignored.
     *
     * @throws IllegalArgumentException naming the missing keys or the first wrong shape (nothing is changed)
     */
    public void loadFinetuned(Map<String, NDArray> checkpoint, String origin) {
        Autograd.untracked(() -> StateDict.load(model, checkpoint, origin, false));
    }

    public HicmaeConfig config() {
        return config;
    }

    public FinetuneOptions options() {
        return options;
    }

    public HicmaeFinetuneModel model() {
        return model;
    }

    /** A manager for one step's arrays, on the model's device; close it when the step ends. */
    public NDManager newStepManager() {
        return manager.newSubManager();
    }

    /**
     * Forward and backward on {@code batch}; the trained parameters' gradients, in {@link #parameterKeys()} order,
     * are left in {@link #gradients()}. The batch's arrays must belong to {@code stepManager} (or a parent).
     *
     * @return the batch's loss
     */
    public float computeGradients(NDManager stepManager, FinetuneBatch batch) {
        Shape expected = new Shape(batch.size(), options.task().outputs());
        if (!batch.targets().getShape().equals(expected)) {
            throw new IllegalArgumentException(
                    "targets have shape " + batch.targets().getShape() + ", expected " + expected);
        }
        Supplier<NDArray> forward = () -> Autograd.record(() -> loss(
                model.forward(store, batch.video(), batch.audio(), !options.linearProbe(), Trace.OFF), // (B, Q|D)
                batch.targets()));
        NDArray loss = options.dropPath() > 0 ? EngineRandom.seeded(batch.dropPathSeed(), forward) : forward.get();
        Autograd.backward(loss);
        gradients.collect(stepManager);
        return loss.getFloat();
    }

    /** The task's loss for outputs (B, Q|D) and targets of the same shape: a scalar. */
    private NDArray loss(NDArray outputs, NDArray targets) {
        return options.task().isClassification()
                ? SoftTargetCrossEntropy.loss(outputs, targets)
                : outputs.sub(targets).square().mean();
    }

    /**
     * Evaluation forward, without gradient or stochastic depth: logits (B, Q) or regression outputs (B, D), in the
     * inputs' manager.
     */
    public NDArray predict(NDArray video, NDArray audio) {
        NDArray[] out = new NDArray[1];
        Autograd.untracked(() -> out[0] = model.forward(store, video, audio, false, Trace.OFF));
        return out[0];
    }

    /** The gradient buffer: {@link #parameterCount()} floats in {@link #parameterKeys()} order. */
    public FloatBuffer gradients() {
        return gradients.buffer();
    }

    /** The gradient buffer's bytes, native order, for an all-reduce without copies (see {@link GradientBuffer#bytes}). */
    public ByteBuffer gradientBytes() {
        return gradients.bytes();
    }

    /** One trained parameter's slice of the gradient buffer, shaped like the parameter, in {@code m}. */
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
        throw new IllegalArgumentException("no trained parameter " + key + (options.linearProbe()
                ? " (the linear probe trains only head.weight and head.bias)" : ""));
    }

    /**
     * One AdamW step with the (all-reduced) gradient buffer at this step's scheduled lr, each parameter's lr scaled
     * by its layer decay. Returns the scheduled lr (before the scale).
     */
    public double applyGradients(NDManager stepManager) {
        double lr = schedule.at(step);
        List<NDArray> perParameter = gradients.perParameter(stepManager, 0);
        Autograd.untracked(() -> optimizer.step(perParameter, lr, stepManager));
        step++;
        return lr;
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

    /** The training state to save: every parameter (frozen ones too), the moments and the step; live arrays. */
    public TrainingState state() {
        return new TrainingState(StateDict.arrays(model), optimizer.moments(), step);
    }

    /** Restores a saved state; every key and shape is checked before anything changes. */
    public void restore(TrainingState state, String origin) {
        state.restoreInto(model, optimizer, origin);
        step = state.step();
    }

    @Override
    public void close() {
        manager.close();
    }
}
