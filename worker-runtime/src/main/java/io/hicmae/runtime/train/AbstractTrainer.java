package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Parameter;
import ai.djl.training.ParameterStore;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.nn.HicmaeBlock;
import io.hicmae.runtime.optim.AdamW;
import io.hicmae.runtime.optim.LrSchedule;

import java.nio.ByteBuffer;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.ToDoubleFunction;

/**
 * One rank's training state and the half of a step that pre-training and fine-tuning share: the trained parameters'
 * gradients in one contiguous float buffer (what the all-reduce syncs), AdamW on a per-step lr schedule, the step
 * count and the state a checkpoint saves. A subclass adds the forward and backward that fill the buffer.
 * Parameters and moments live in the trainer's manager; everything else of a step lives in the step manager the
 * caller opens with {@link #newStepManager()} and closes when the step ends.
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
    private long step;

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
        this.model = model;
        this.manager = NDManager.newBaseManager(device);
        EngineRandom.initialize(model, manager, seed);
        this.store = new ParameterStore(manager, false);
        Map<String, Parameter> trained = new LinkedHashMap<>();
        StateDict.parameters(model).forEach((k, p) -> {
            if (trains.test(k)) {
                trained.put(k, p);
            } else {
                p.freeze(true);
            }
        });
        this.parameters = new ArrayList<>(trained.values());
        this.keys = new ArrayList<>(trained.keySet());
        this.optimizer = new AdamW(trained, adamw, lrScale, manager);
        this.schedule = schedule;
        this.clipGrad = clipGrad;
        this.gradients = new GradientBuffer(parameters);
    }

    public M model() {
        return model;
    }

    /** A manager for one step's arrays, on the model's device; close it when the step ends. */
    public NDManager newStepManager() {
        return manager.newSubManager();
    }

    /** After backward: copies the trained parameters' gradients into the buffer, in {@link #parameterKeys()} order. */
    protected void collectGradients(NDManager stepManager) {
        gradients.collect(stepManager);
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

    /**
     * One optimiser step with the (all-reduced) gradient buffer at this step's scheduled lr, each parameter's lr
     * times its scale; clips the global norm first when the trainer was given a clip. Returns the scheduled lr.
     */
    public double applyGradients(NDManager stepManager) {
        double lr = schedule.at(step);
        List<NDArray> perParameter = gradients.perParameter(stepManager, clipGrad);
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
