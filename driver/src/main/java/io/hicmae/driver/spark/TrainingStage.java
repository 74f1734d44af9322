package io.hicmae.driver.spark;

import io.hicmae.zoo.ModelZoo;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.io.PrintStream;
import java.util.List;
import java.util.Objects;

/**
 * The driver's side of a training job's stage: {@link BarrierStage#run} with the shared rank loop
 * ({@link TrainingRankTask}) as each attempt's task, on a world size dividing the micro-batches of a step,
 * resubmitted after a failure (counted) or a stop at a checkpoint (a preemption, or a shrunken elastic run growing
 * back: not counted), each attempt resuming from the run's newest checkpoint. Grow requests reach the ranks as a
 * {@link GrowRequest} in the run's area of the zoo.
 */
public final class TrainingStage {

    private TrainingStage() {}

    /**
     * Trains {@code first}'s run to its end.
     *
     * @param giveUpHint what the user can do when every attempt failed
     * @return the ranks' results of the final attempt, in rank order
     */
    public static List<RankResult> run(SparkSession spark, TrainingSpec first, ModelZoo zoo, PrintStream console,
            String giveUpHint) throws IOException {
        return run(spark, first, zoo, console, giveUpHint, attempt -> { });
    }

    /** {@link #run(SparkSession, TrainingSpec, ModelZoo, PrintStream, String)}, telling {@code onAttempt} each attempt. */
    public static List<RankResult> run(SparkSession spark, TrainingSpec first, ModelZoo zoo, PrintStream console,
            String giveUpHint, java.util.function.IntConsumer onAttempt) throws IOException {
        return run(spark, first, zoo, console, giveUpHint, onAttempt, () -> BarrierStage.slots(spark));
    }

    /**
     * As {@link #run(SparkSession, TrainingSpec, ModelZoo, PrintStream, String, java.util.function.IntConsumer)},
     * counting the cluster's task slots with {@code slots} (Spark's count, or a test's).
     */
    public static List<RankResult> run(SparkSession spark, TrainingSpec first, ModelZoo zoo, PrintStream console,
            String giveUpHint, java.util.function.IntConsumer onAttempt, java.util.function.IntSupplier slots)
            throws IOException {
        String runId = first.run().runId();
        GrowRequest.clear(zoo, runId); // one left by an earlier driver of the run names attempts of its own
        ExecutorHadoopConf hadoop = ExecutorHadoopConf.ship(spark); // the driver's Hadoop settings, on every rank
        int microBatches = first.run().batch().microBatches();
        return BarrierStage.run(spark, first.stage(), RankResult.class,
                (attempt, world) -> {
                    onAttempt.accept(attempt);
                    return new TrainingRankTask(first.forAttempt(attempt, world), hadoop);
                },
                results -> {
                    String why = results.stream().map(RankResult::stopped).filter(Objects::nonNull).findFirst()
                            .orElse(null);
                    if (why != null) {
                        Preemption.reset();
                    }
                    return why;
                },
                world -> microBatches % world == 0,
                slots,
                (attempt, from, to, why) -> new GrowRequest(attempt, from, to, why).publish(zoo, runId),
                () -> zoo.checkpoints().latest(runId).map(c -> "step " + c.step()).orElse("the start"),
                console, giveUpHint);
    }
}
