package io.hicmae.it.jobs;

import java.io.Serializable;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.IntStream;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkEnv;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.resource.ResourceInformation;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerExecutorAdded;
import org.apache.spark.scheduler.SparkListenerExecutorRemoved;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * A barrier stage that reports where each of its tasks ran, for tests of the cluster itself.
 *
 * <p>{@code BarrierProbeJob <partitions> <holdMillis>}: each task of the barrier stage meets the others at
 * {@link BarrierTaskContext#barrier()}, then, in the stage's first attempt only, holds for {@code holdMillis} (so a
 * test can kill an executor under it). A shuffle follows the barrier stage, which makes it a shuffle map stage that
 * Spark retries as a whole when one task fails; a failed barrier result stage is aborted instead.
 *
 * <p>Stdout, in the driver's log, gets one line per event, each starting with {@code PROBE}:
 * <pre>
 * PROBE task-start stage=S attempt=A partition=P executor=E
 * PROBE executor-added E
 * PROBE executor-removed E
 * PROBE result partition=P attempt=A executor=E pid=PID worker=PARENT_PID resources={gpu=[0]}
 * </pre>
 */
public final class BarrierProbeJob {
    private static final ClassTag<String> STRING = ClassTag$.MODULE$.apply(String.class);

    public static void main(String[] args) {
        if (args.length != 2) {
            throw new IllegalArgumentException("Usage: BarrierProbeJob <partitions> <holdMillis>, got " + List.of(args));
        }
        int partitions = Integer.parseInt(args[0]);
        long holdMillis = Long.parseLong(args[1]);
        try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("barrier-probe"))) {
            sc.sc().addSparkListener(new EventPrinter());
            List<String> results = runProbe(sc, partitions, holdMillis);
            results.forEach(r -> System.out.println("PROBE result " + r));
        }
    }

    static List<String> runProbe(JavaSparkContext sc, int partitions, long holdMillis) {
        RDD<Integer> ranks = sc.parallelize(IntStream.range(0, partitions).boxed().toList(), partitions).rdd();
        RDD<String> probed = ranks.barrier().mapPartitions(new Probe(holdMillis), false, STRING);
        // The shuffle: see the class comment.
        return new JavaRDD<>(probed, STRING).repartition(1).collect().stream().sorted().toList();
    }

    /** Reports the task's place; holds in the first stage attempt until the hold ends or the task is killed. */
    private static final class Probe extends AbstractFunction1<Iterator<Integer>, Iterator<String>>
            implements Serializable {
        private static final long serialVersionUID = 1L;
        private final long holdMillis;

        Probe(long holdMillis) {
            this.holdMillis = holdMillis;
        }

        @Override
        public Iterator<String> apply(Iterator<Integer> ranks) {
            BarrierTaskContext ctx = BarrierTaskContext.get();
            ctx.barrier();
            if (ctx.stageAttemptNumber() == 0) {
                hold(ctx);
            }
            Map<String, List<String>> resources = new TreeMap<>();
            for (Map.Entry<String, ResourceInformation> r : ctx.resourcesJMap().entrySet()) {
                resources.put(r.getKey(), List.of(r.getValue().addresses()));
            }
            String result = "partition=" + ctx.partitionId()
                    + " attempt=" + ctx.stageAttemptNumber()
                    + " executor=" + SparkEnv.get().executorId()
                    + " pid=" + ProcessHandle.current().pid()
                    + " worker=" + ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L)
                    + " resources=" + resources;
            return CollectionConverters.asScala(List.of(result).iterator());
        }

        private void hold(BarrierTaskContext ctx) {
            long end = System.nanoTime() + holdMillis * 1_000_000;
            while (System.nanoTime() < end) {
                ctx.killTaskIfInterrupted();
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    ctx.killTaskIfInterrupted();
                    throw new IllegalStateException("Interrupted while holding partition " + ctx.partitionId(), e);
                }
            }
        }
    }

    /** Prints the scheduler events a test waits for. Runs on the driver. */
    private static final class EventPrinter extends SparkListener {
        @Override
        public void onTaskStart(SparkListenerTaskStart e) {
            System.out.println("PROBE task-start stage=" + e.stageId() + " attempt=" + e.stageAttemptId()
                    + " partition=" + e.taskInfo().partitionId() + " executor=" + e.taskInfo().executorId());
        }

        @Override
        public void onExecutorAdded(SparkListenerExecutorAdded e) {
            System.out.println("PROBE executor-added " + e.executorId());
        }

        @Override
        public void onExecutorRemoved(SparkListenerExecutorRemoved e) {
            System.out.println("PROBE executor-removed " + e.executorId() + " " + e.reason());
        }
    }
}
