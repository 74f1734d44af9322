package io.hicmae.driver.spark;

import io.hicmae.driver.config.ConfigException;
import io.hicmae.zoo.Checkpoint;
import io.hicmae.zoo.ModelZoo;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The world-size-free part of a training checkpoint, stored in its state file's metadata beside the parameters,
 * moments and step: the global batch and micro-batch, the seed, the data position (epoch, clips consumed in it) and
 * the schedule (steps per epoch, warm-up, total). A resumed run derives its steps from these, on any world size
 * dividing the micro-batches; {@link #checkResume} refuses a run whose settings would change the trajectory.
 */
public final class CheckpointFields {

    public static final String GLOBAL_BATCH = "global_batch";
    public static final String MICRO_BATCH = "micro_batch";
    public static final String SEED = "seed";
    public static final String EPOCH = "epoch";
    public static final String SAMPLES_CONSUMED = "samples_consumed";
    public static final String STEPS_PER_EPOCH = "steps_per_epoch";
    public static final String WARMUP_STEPS = "warmup_steps";
    public static final String TOTAL_STEPS = "total_steps";
    /** The world size that wrote the checkpoint: informational, resume does not need it. */
    public static final String WORLD_SIZE = "world_size";

    private CheckpointFields() {}

    /** The fields of a checkpoint taken after {@code steps} steps of {@code plan} on {@code worldSize} ranks. */
    public static Map<String, String> of(RunPlan plan, long seed, long steps, int worldSize) {
        GlobalBatch g = plan.batch();
        Map<String, String> m = new LinkedHashMap<>();
        m.put(GLOBAL_BATCH, Integer.toString(g.clips()));
        m.put(MICRO_BATCH, Integer.toString(g.microBatch()));
        m.put(SEED, Long.toString(seed));
        m.put(EPOCH, Long.toString(steps / plan.stepsPerEpoch()));
        m.put(SAMPLES_CONSUMED, Long.toString(steps % plan.stepsPerEpoch() * g.clips()));
        m.put(STEPS_PER_EPOCH, Long.toString(plan.stepsPerEpoch()));
        m.put(WARMUP_STEPS, Long.toString(plan.warmupSteps()));
        m.put(TOTAL_STEPS, Long.toString(plan.totalSteps()));
        m.put(WORLD_SIZE, Integer.toString(worldSize));
        return m;
    }

    /**
     * The fields of run {@code runId}'s newest checkpoint (empty for a new run), after checking that {@code cfg}
     * keeps what fixes the trajectory: batch-size, global-batch (when given), seed, and the job's {@code extra} pins.
     */
    public static Map<String, String> resume(ModelZoo zoo, String runId, TrainingConfig cfg, Map<String, Pin> extra)
            throws IOException {
        Optional<Checkpoint> cp = zoo.checkpoints().latest(runId);
        if (cp.isEmpty()) {
            return Map.of();
        }
        Map<String, String> stored = RunCheckpoints.readMetadata(zoo, cp.get());
        int g = StageKeys.globalBatch(cfg.values());
        Map<String, Pin> pins = new LinkedHashMap<>();
        pins.put("batch-size", new Pin(MICRO_BATCH, cfg.batchSize()));
        pins.put(StageKeys.GLOBAL_BATCH, new Pin(GLOBAL_BATCH, g > 0 ? g : null));
        pins.put("seed", new Pin(SEED, cfg.seed()));
        pins.putAll(extra);
        checkResume(stored, "step " + cp.get().step() + " of run " + runId, pins);
        return stored;
    }

    /** The stored global batch, or null for a checkpoint written before it was recorded. */
    public static Integer storedGlobalBatch(Map<String, String> stored) {
        String g = stored.get(GLOBAL_BATCH);
        return g == null ? null : Integer.valueOf(g);
    }

    /**
     * Refuses to resume when a setting differs from the checkpoint's: {@code pinned} holds, per config key, the
     * checkpoint's metadata key and the value in force now (null: not given, not checked).
     *
     * @param origin the checkpoint, for the message
     */
    public static void checkResume(Map<String, String> stored, String origin, Map<String, Pin> pinned) {
        for (Map.Entry<String, Pin> e : pinned.entrySet()) {
            Pin p = e.getValue();
            String was = stored.get(p.storedKey());
            if (was != null && p.now() != null && !Objects.equals(was, p.now().toString())) {
                throw new ConfigException(e.getKey(), p.now(), "the run resumes from " + origin
                        + ", which was trained with " + e.getKey() + " " + was + "; resume with --" + e.getKey()
                        + " " + was + " or start a new run");
            }
        }
    }

    /**
     * A setting a resumed run must keep.
     *
     * @param storedKey the checkpoint metadata key holding it
     * @param now the value in force, or null when it is not to be checked
     */
    public record Pin(String storedKey, Object now) {}
}
