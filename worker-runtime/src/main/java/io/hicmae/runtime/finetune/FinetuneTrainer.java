package io.hicmae.runtime.finetune;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.config.HicmaeConfig;
import io.hicmae.runtime.loss.SoftTargetCrossEntropy;
import io.hicmae.runtime.model.BackwardCuts;
import io.hicmae.runtime.model.HicmaeFinetuneModel;
import io.hicmae.runtime.model.StateDict;
import io.hicmae.runtime.model.Trace;
import io.hicmae.runtime.optim.LayerDecay;
import io.hicmae.runtime.train.AbstractTrainer;
import io.hicmae.runtime.train.Autograd;
import io.hicmae.runtime.train.EngineRandom;
import io.hicmae.runtime.train.OverlappedUpdate;
import io.hicmae.runtime.train.PendingBackward;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One rank's fine-tuning state and step, beside {@code PretrainTrainer}: {@link #computeGradients} runs forward
 * and backward and leaves the trained parameters' gradients in one contiguous float buffer (what the all-reduce
 * syncs); {@link #applyGradients} runs AdamW, each parameter's lr scaled by {@link LayerDecay}. As in pre-training,
 * full fine-tuning's backward pass runs in stages cut after every encoder block (the head, {@code fc_norm}, the layer
 * logits and the fusion encoder first), and the buffer holds the parameters in that order.
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
public final class FinetuneTrainer extends AbstractTrainer<HicmaeFinetuneModel> {

    private static final String HEAD = "head.";
    private static final String FC_NORM = "fc_norm.";

    private final HicmaeConfig config;
    private final FinetuneOptions options;

    /**
     * Builds the fine-tuning model on {@code device}, initialised from {@code seed}; load a checkpoint next with
     * {@link #loadPretrained} or {@link #loadFinetuned}.
     */
    public FinetuneTrainer(HicmaeConfig config, FinetuneOptions options, Device device, long seed) {
        this(new HicmaeFinetuneModel(config, options.task().outputs(), options.dropPath()), config, options, device,
                seed);
    }

    /** A linear probe's backward pass is one call (the frozen encoders need no stages); full fine-tuning's is cut. */
    private FinetuneTrainer(HicmaeFinetuneModel model, HicmaeConfig config, FinetuneOptions options, Device device,
            long seed) {
        super(model, device, seed, key -> !options.linearProbe() || key.startsWith(HEAD),
                options.linearProbe() ? key -> 0 : stagesOfCuts(model.cutOwners()), options.adamw(),
                new LayerDecay(config, options.layerDecay())::scale, options.schedule(), 0);
        this.config = config;
        this.options = options;
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

    /**
     * Forward and backward on {@code batch}; the trained parameters' gradients, in {@link #parameterKeys()} order,
     * are left in {@link #gradients()}. The batch's arrays must belong to {@code stepManager} (or a parent).
     *
     * @return the batch's loss
     */
    public float computeGradients(NDManager stepManager, FinetuneBatch batch) {
        BackwardCuts cuts = cuts();
        NDArray loss = recordForward(batch, cuts);
        backwardInStages(loss, cuts, stepManager, null);
        return loss.getFloat();
    }

    /** A recorded forward pass: its loss, and its backward pass still to run. */
    public record Forward(float loss, PendingBackward backward) {}

    /**
     * The forward pass on {@code batch}; running the returned backward pass leaves the trained parameters' gradients
     * in {@link #gradients()}, each stage's as soon as it ends (see {@link OverlappedUpdate#reduceDuringBackward}).
     */
    public Forward forward(NDManager stepManager, FinetuneBatch batch) {
        BackwardCuts cuts = cuts();
        NDArray loss = recordForward(batch, cuts);
        return new Forward(loss.getFloat(), pendingBackward(loss, cuts, stepManager));
    }

    private BackwardCuts cuts() {
        return options.linearProbe() ? BackwardCuts.none() : BackwardCuts.recording();
    }

    /** The recorded forward pass to the scalar loss, with stochastic depth seeded by the batch. */
    private NDArray recordForward(FinetuneBatch batch, BackwardCuts cuts) {
        Shape expected = new Shape(batch.size(), options.task().outputs());
        if (!batch.targets().getShape().equals(expected)) {
            throw new IllegalArgumentException(
                    "targets have shape " + batch.targets().getShape() + ", expected " + expected);
        }
        Supplier<NDArray> forward = () -> recordForward(() -> loss(
                model.forward(store, batch.video(), batch.audio(), !options.linearProbe(), Trace.OFF, cuts), // (B, Q|D)
                batch.targets()));
        return options.dropPath() > 0 ? EngineRandom.seeded(batch.dropPathSeed(), forward) : forward.get();
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
        out[0] = untrackedForward(() -> model.forward(store, video, audio, false, Trace.OFF));
        return out[0];
    }

    /** One trained parameter's slice of the gradient buffer, shaped like the parameter, in {@code m}. */
    @Override
    public NDArray gradientOf(String key, NDManager m) {
        if (options.linearProbe() && !parameterKeys().contains(key)) {
            throw new IllegalArgumentException("no trained parameter " + key
                    + " (the linear probe trains only head.weight and head.bias)");
        }
        return super.gradientOf(key, m);
    }
}
