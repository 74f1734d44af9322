package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.loss.PretrainLoss;
import io.hicmae.runtime.model.HicmaePretrainModel;
import io.hicmae.runtime.model.PretrainBatch;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.model.Trace;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.optim.LrSchedule;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * One rank's HiCMAE pre-training state and step: {@link #computeGradients} runs forward and backward on a batch and
 * leaves the gradients in one contiguous float buffer (what the all-reduce syncs); {@link #applyGradients} runs the
 * optimiser on that buffer. Parameters and moments live in the trainer's manager; everything else of a step lives in
 * the step manager the caller opens with {@link #newStepManager()} and closes when the step ends.
 */
public final class PretrainTrainer implements AutoCloseable {

    private final HicmaeConfig config;
    private final TrainOptions options;
    private final NDManager manager;
    private final HicmaePretrainModel model;
    private final ParameterStore store;
    private final List<Parameter> parameters;
    private final List<String> keys;
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final GradientBuffer gradients;
    private long step;

    /**
     * Builds the model on {@code device}, initialised from {@code seed} (the same seed gives the same weights on
     * every rank).
     */
    public PretrainTrainer(HicmaeConfig config, TrainOptions options, Device device, long seed) {
        this.config = config;
        this.options = options;
        this.manager = NDManager.newBaseManager(device);
        this.model = new HicmaePretrainModel(config);
        EngineRandom.initialize(model, manager, seed);
        this.store = new ParameterStore(manager, false);
        Map<String, Parameter> byKey = StateDict.parameters(model);
        this.parameters = new ArrayList<>(byKey.values());
        this.keys = new ArrayList<>(byKey.keySet());
        this.optimizer = new AdamW(byKey, options.adamw(), k -> 1.0, manager);
        this.schedule = options.schedule();
        this.gradients = new GradientBuffer(parameters);
    }

    public HicmaeConfig config() {
        return config;
    }

    public HicmaePretrainModel model() {
        return model;
    }

    /** A manager for one step's arrays, on the model's device; close it when the step ends. */
    public NDManager newStepManager() {
        return manager.newSubManager();
    }

    /**
     * Forward and backward on {@code batch}; the gradients, in parameter order, are left in {@link #gradients()}.
     * The batch's arrays must belong to {@code stepManager} (or one of its parents).
     */
    public StepLosses computeGradients(NDManager stepManager, PretrainBatch batch) {
        PretrainLoss loss = Autograd.record(
                () -> PretrainLoss.compute(config, batch, model.forward(store, batch, true, Trace.OFF)));
        Autograd.backward(loss.total());
        gradients.collect(stepManager);
        return StepLosses.of(loss);
    }

    /** The gradient buffer: P floats in parameter order, filled by {@link #computeGradients}. */
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
     * One optimiser step with the (all-reduced) gradient buffer, at this step's scheduled lr; clips the global norm
     * first when the options say so. Returns the lr used.
     */
    public double applyGradients(NDManager stepManager) {
        double lr = schedule.at(step);
        List<NDArray> perParameter = gradients.perParameter(stepManager, options.clipGrad());
        Autograd.untracked(() -> optimizer.step(perParameter, lr, stepManager));
        step++;
        return lr;
    }

    /** Optimiser steps taken. */
    public long step() {
        return step;
    }

    public long parameterCount() {
        return gradients.size();
    }

    /** Parameter keys in buffer order. */
    public List<String> parameterKeys() {
        return List.copyOf(keys);
    }

    /** The training state to save: parameters, moments and the step (arrays are live, not copies). */
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
