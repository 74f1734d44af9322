package io.hicmae.runtime.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * PyTorch's {@code AdamW} as the authors' optimiser factory sets it up, written in NDArray ops:
 * {@code p <- p (1 - lr wd)}, {@code m <- b1 m + (1 - b1) g}, {@code v <- b2 v + (1 - b2) g^2},
 * {@code p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)}, with two parameter groups: no weight
 * decay for 1-D parameters, names ending in ".bias" and the name "mask_token" (so, as upstream,
 * {@code mask_token_audio} is decayed). An optional per-parameter lr scale carries fine-tuning's layer-wise decay.
 */
public final class AdamW {

    /**
     * Hyper-parameters held for the whole run.
     *
     * @param beta1 first-moment decay (pre-training 0.9)
     * @param beta2 second-moment decay (pre-training 0.95, fine-tuning 0.999)
     * @param eps denominator epsilon (1e-8)
     * @param weightDecay decoupled weight decay of the decayed group (0.05)
     */
    public record Settings(double beta1, double beta2, double eps, double weightDecay) {
        public Settings {
            if (!(beta1 >= 0 && beta1 < 1)) {
                throw new IllegalArgumentException("Invalid value " + beta1 + " for configuration beta1: must be in [0, 1)");
            }
            if (!(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("Invalid value " + beta2 + " for configuration beta2: must be in [0, 1)");
            }
            if (!(eps > 0)) {
                throw new IllegalArgumentException("Invalid value " + eps + " for configuration eps: must be positive");
            }
            if (!(weightDecay >= 0)) {
                throw new IllegalArgumentException(
                        "Invalid value " + weightDecay + " for configuration weight-decay: must be at least 0");
            }
        }

        /** The release pre-training script's settings. */
        public static Settings pretraining() {
            return new Settings(0.9, 0.95, 1e-8, 0.05);
        }

        /** The release fine-tuning scripts' settings. */
        public static Settings finetuning() {
            return new Settings(0.9, 0.999, 1e-8, 0.05);
        }
    }

    /** One trained parameter with its moments and group settings. */
    private record Slot(String name, Parameter parameter, NDArray m, NDArray v, double weightDecay, double lrScale) {}

    private final Settings settings;
    private final List<Slot> slots = new ArrayList<>();
    private long step;

    /**
     * @param parameters trained parameters by authors' key (frozen ones left out), in the model's order
     * @param lrScale per-key lr multiplier (1 for pre-training)
     * @param stateManager owns the moments for the optimiser's lifetime
     */
    public AdamW(Map<String, Parameter> parameters, Settings settings, ToDoubleFunction<String> lrScale,
            NDManager stateManager) {
        this.settings = settings;
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            NDArray p = e.getValue().getArray();
            NDArray m = stateManager.zeros(p.getShape(), p.getDataType(), p.getDevice());
            NDArray v = stateManager.zeros(p.getShape(), p.getDataType(), p.getDevice());
            double wd = decays(e.getKey(), p) ? settings.weightDecay() : 0.0;
            slots.add(new Slot(e.getKey(), e.getValue(), m, v, wd, lrScale.applyAsDouble(e.getKey())));
        }
    }

    /** The upstream rule: 1-D parameters, biases and exactly "mask_token" get no weight decay. */
    public static boolean decays(String name, NDArray value) {
        return !(value.getShape().dimension() == 1 || name.endsWith(".bias") || name.equals("mask_token"));
    }

    /**
     * One update with the given gradients (one per trained parameter, in constructor order), at learning rate
     * {@code lr} before the per-parameter scale. Temporaries live in {@code stepManager}.
     */
    public void step(List<NDArray> gradients, double lr, NDManager stepManager) {
        if (gradients.size() != slots.size()) {
            throw new IllegalArgumentException(
                    "AdamW got " + gradients.size() + " gradients for " + slots.size() + " parameters");
        }
        step++;
        double b1 = settings.beta1();
        double b2 = settings.beta2();
        double bc1 = 1 - Math.pow(b1, step);
        double sqrtBc2 = Math.sqrt(1 - Math.pow(b2, step));
        for (int i = 0; i < slots.size(); i++) {
            Slot s = slots.get(i);
            NDArray g = gradients.get(i);
            NDArray p = s.parameter().getArray();
            double slotLr = lr * s.lrScale();
            if (s.weightDecay() != 0) {
                p.muli(1 - slotLr * s.weightDecay());
            }
            s.m().muli(b1).addi(temp(g.mul(1 - b1), stepManager));
            s.v().muli(b2).addi(temp(g.square(), stepManager).muli(1 - b2));
            NDArray denom = temp(s.v().sqrt(), stepManager).divi(sqrtBc2).addi(settings.eps());
            p.subi(temp(s.m().div(denom), stepManager).muli(slotLr / bc1));
        }
    }

    private static NDArray temp(NDArray a, NDManager stepManager) {
        a.attach(stepManager);
        return a;
    }

    /** Updates taken so far (PyTorch's per-parameter {@code step}). */
    public long stepCount() {
        return step;
    }

    /** Restores the step count of a saved state (moments are restored through {@link #moments()}). */
    public void setStepCount(long step) {
        this.step = step;
    }

    /** The moments by key: "m." and "v." prefixes on the authors' keys; live arrays, for saving and restoring. */
    public Map<String, NDArray> moments() {
        Map<String, NDArray> out = new LinkedHashMap<>();
        for (Slot s : slots) {
            out.put("m." + s.name(), s.m());
            out.put("v." + s.name(), s.v());
        }
        return out;
    }

    public Settings settings() {
        return settings;
    }
}
