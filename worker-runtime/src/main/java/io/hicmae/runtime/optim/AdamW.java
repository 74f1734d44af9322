package io.hicmae.runtime.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;

import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToDoubleFunction;

/**
 * PyTorch's {@code AdamW} as the authors' optimiser factory sets it up, written in NDArray ops:
 * {@code p <- p (1 - lr wd)}, {@code m <- b1 m + (1 - b1) g}, {@code v <- b2 v + (1 - b2) g^2},
 * {@code p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)}, with two parameter groups: no weight
 * decay for 1-D parameters, names ending in ".bias" and the name "mask_token" (so, as upstream,
 * {@code mask_token_audio} is decayed). An optional per-parameter lr scale carries fine-tuning's layer-wise decay.
 *
 * <p>Two implementations of the same update: {@link #step} (engine operations per parameter, ~14 passes over the
 * parameters; any device) and the fused {@link #begin}/{@link Update#apply} (one multi-threaded pass over the flat
 * gradient buffer, the parameters and the moments, in place in their CPU memory; bit-identical to {@link #step}).
 * The fused update works on any range of the flat buffer's index space, so a bucketed all-reduce can apply it bucket
 * by bucket as buckets complete.
 */
public final class AdamW implements AutoCloseable {

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
    private record Slot(String name, Parameter parameter, NDArray m, NDArray v, double weightDecay, double lrScale,
            long offset, long size) {}

    /** Elements below which a fused range is not split across threads. */
    private static final int MIN_CHUNK = 1 << 16;

    private final Settings settings;
    private final List<Slot> slots = new ArrayList<>();
    private final long flatSize;
    private ExecutorService pool;
    private long step;

    /**
     * @param parameters trained parameters by authors' key (frozen ones left out), in the model's order
     * @param lrScale per-key lr multiplier (1 for pre-training)
     * @param stateManager owns the moments for the optimiser's lifetime
     */
    public AdamW(Map<String, Parameter> parameters, Settings settings, ToDoubleFunction<String> lrScale,
            NDManager stateManager) {
        this.settings = settings;
        long offset = 0;
        for (Map.Entry<String, Parameter> e : parameters.entrySet()) {
            NDArray p = e.getValue().getArray();
            NDArray m = stateManager.zeros(p.getShape(), p.getDataType(), p.getDevice());
            NDArray v = stateManager.zeros(p.getShape(), p.getDataType(), p.getDevice());
            double wd = decays(e.getKey(), p) ? settings.weightDecay() : 0.0;
            long n = p.getShape().size();
            slots.add(new Slot(e.getKey(), e.getValue(), m, v, wd, lrScale.applyAsDouble(e.getKey()), offset, n));
            offset += n;
        }
        this.flatSize = offset;
    }

    /**
     * Whether the fused update can run: every parameter and moment is a float32 array in CPU memory, which the update
     * reads and writes in place (on a GPU the engine operations of {@link #step} run instead).
     */
    public boolean canFuse() {
        for (Slot s : slots) {
            NDArray p = s.parameter().getArray();
            if (!Device.cpu().equals(p.getDevice()) || p.getDataType() != DataType.FLOAT32) {
                return false;
            }
        }
        return true;
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

    /**
     * Starts one fused update at learning rate {@code lr} (before the per-parameter scale): counts the step and fixes
     * its bias corrections. Apply it to every element of the flat buffer exactly once, in one or more ranges.
     *
     * @param gradScale each gradient's multiplier (fp16 unscale times the clip factor; 1 for none)
     */
    public Update begin(double lr, double gradScale) {
        step++;
        return new Update(lr, gradScale, 1 - Math.pow(settings.beta1(), step),
                Math.sqrt(1 - Math.pow(settings.beta2(), step)));
    }

    /** One step's fused update; {@link #apply} it to the ranges of the flat buffer as their gradients are ready. */
    public final class Update {
        private final double lr;
        private final float gradScale;
        private final double bc1;
        private final float sqrtBc2;

        private Update(double lr, double gradScale, double bc1, double sqrtBc2) {
            this.lr = lr;
            this.gradScale = (float) gradScale;
            this.bc1 = bc1;
            this.sqrtBc2 = (float) sqrtBc2;
        }

        /**
         * Updates the parameters whose elements lie in {@code [from, to)} of the flat buffer (gradients in
         * {@code grads} at the same flat index), across the optimiser's threads; returns when done.
         */
        public void apply(FloatBuffer grads, long from, long to) {
            if (from < 0 || to > flatSize || from > to) {
                throw new IllegalArgumentException("range [" + from + ", " + to + ") outside the flat buffer of "
                        + flatSize + " parameters");
            }
            List<Runnable> chunks = new ArrayList<>();
            for (Slot s : slots) {
                long lo = Math.max(from, s.offset());
                long hi = Math.min(to, s.offset() + s.size());
                if (lo >= hi) {
                    continue;
                }
                FloatBuffer p = floats(s.parameter().getArray());
                FloatBuffer m = floats(s.m());
                FloatBuffer v = floats(s.v());
                double slotLr = lr * s.lrScale();
                AdamWKernel.Scalars k = new AdamWKernel.Scalars(
                        s.weightDecay() != 0 ? (float) (1 - slotLr * s.weightDecay()) : 1f,
                        (float) settings.beta1(), (float) (1 - settings.beta1()), (float) settings.beta2(),
                        (float) (1 - settings.beta2()), sqrtBc2, (float) settings.eps(), (float) (slotLr / bc1),
                        gradScale);
                int gOffset = Math.toIntExact(s.offset());
                int a = Math.toIntExact(lo - s.offset());
                int b = Math.toIntExact(hi - s.offset());
                for (int c = a; c < b; c += MIN_CHUNK * 4) {
                    int end = Math.min(b, c + MIN_CHUNK * 4);
                    int start = c;
                    chunks.add(() -> AdamWKernel.update(grads, gOffset, p, m, v, start, end, k));
                }
            }
            run(chunks);
        }
    }

    /**
     * Room for the values a range of fused updates overwrites (parameters and both moments, in the flat buffer's
     * index space), in {@code manager}'s memory: {@link Snapshot#save} before an update that may have to be taken
     * back, {@link Snapshot#restore} to take it back bit for bit. What lets the optimiser run on a bucket before the
     * step's global decisions (finite check, fp16 overflow, clipping) are known.
     */
    public Snapshot newSnapshot(NDManager manager) {
        return new Snapshot(manager.zeros(new ai.djl.ndarray.types.Shape(3 * flatSize), DataType.FLOAT32,
                Device.cpu()));
    }

    /** Saved parameters and moments of ranges of the flat buffer; see {@link #newSnapshot}. */
    public final class Snapshot implements AutoCloseable {
        private final NDArray memory;
        private final FloatBuffer saved;

        private Snapshot(NDArray memory) {
            this.memory = memory;
            this.saved = floats(memory);
        }

        /** Copies the parameters and moments of flat elements {@code [from, to)} aside. */
        public void save(long from, long to) {
            copy(from, to, true);
        }

        /** Puts back what {@link #save} copied aside for {@code [from, to)}. */
        public void restore(long from, long to) {
            copy(from, to, false);
        }

        private void copy(long from, long to, boolean save) {
            if (from < 0 || to > flatSize || from > to) {
                throw new IllegalArgumentException("range [" + from + ", " + to + ") outside the flat buffer of "
                        + flatSize + " parameters");
            }
            for (Slot s : slots) {
                long lo = Math.max(from, s.offset());
                long hi = Math.min(to, s.offset() + s.size());
                if (lo >= hi) {
                    continue;
                }
                int a = Math.toIntExact(lo - s.offset());
                int n = Math.toIntExact(hi - lo);
                FloatBuffer[] live = {floats(s.parameter().getArray()), floats(s.m()), floats(s.v())};
                for (int k = 0; k < 3; k++) {
                    int at = Math.toIntExact(k * flatSize + lo);
                    if (save) {
                        saved.put(at, live[k], a, n);
                    } else {
                        live[k].put(a, saved, at, n);
                    }
                }
            }
        }

        @Override
        public void close() {
            memory.close();
        }
    }

    /** Takes back the count of an update begun with {@link #begin} whose every range was restored. */
    public void undoBegin() {
        if (step == 0) {
            throw new IllegalStateException("no AdamW step to take back");
        }
        step--;
    }

    private void run(List<Runnable> chunks) {
        int threads = Math.max(1, Math.min(Runtime.getRuntime().availableProcessors(),
                ai.djl.pytorch.jni.JniUtils.getNumThreads()));
        if (threads == 1 || chunks.size() <= 1) {
            chunks.forEach(Runnable::run);
            return;
        }
        ExecutorService exec = pool(threads);
        List<Future<?>> futures = new ArrayList<>(chunks.size());
        for (Runnable r : chunks) {
            futures.add(exec.submit(r));
        }
        for (Future<?> f : futures) {
            try {
                f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                futures.forEach(x -> x.cancel(true));
                throw new IllegalStateException("interrupted in the fused AdamW update", e);
            } catch (java.util.concurrent.ExecutionException e) {
                throw new IllegalStateException("fused AdamW update failed: " + e.getCause(), e.getCause());
            }
        }
    }

    private synchronized ExecutorService pool(int threads) {
        if (pool == null) {
            AtomicInteger n = new AtomicInteger();
            ThreadFactory f = r -> {
                Thread t = new Thread(r, "adamw-" + n.incrementAndGet());
                t.setDaemon(true);
                return t;
            };
            pool = Executors.newFixedThreadPool(threads, f);
        }
        return pool;
    }

    /** The array's CPU memory as floats, in place (no copy): writes go straight into the tensor. */
    private static FloatBuffer floats(NDArray a) {
        return ((ai.djl.pytorch.engine.PtNDArray) a).toByteBuffer(true).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }

    /** Scalars in the flat buffer the fused update indexes (every trained parameter, in constructor order). */
    public long flatSize() {
        return flatSize;
    }

    @Override
    public synchronized void close() {
        if (pool != null) {
            pool.shutdownNow();
            pool = null;
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
