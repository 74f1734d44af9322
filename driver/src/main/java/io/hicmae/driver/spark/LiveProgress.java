package io.hicmae.driver.spark;

import com.google.gson.JsonObject;
import org.apache.spark.sql.SparkSession;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Everything the driver does with rank 0's progress during one run, opened and closed together: the listener
 * ({@link ProgressServer}, on the stage's {@code progress-port}), the Spark metrics source ({@link RunMetricsSource},
 * under the run id) and the optional TensorBoard file ({@link TensorBoardWriter}, with the source's scalars). The
 * job adds its own consumers (console printer, run-status file) and tells it each attempt.
 */
public final class LiveProgress implements AutoCloseable {

    private final RunMetricsSource metrics;
    private final TensorBoardWriter tensorboard;
    private final ProgressServer server;

    private LiveProgress(RunMetricsSource metrics, TensorBoardWriter tensorboard, ProgressServer server) {
        this.metrics = metrics;
        this.tensorboard = tensorboard;
        this.server = server;
    }

    /** Starts the listener for run {@code runId}; each line goes to {@code consumers}, then to the metrics. */
    public static LiveProgress start(SparkSession spark, BarrierStage.Settings stage, String runId, byte[] secret,
            List<Consumer<JsonObject>> consumers) throws IOException {
        RunMetricsSource metrics = new RunMetricsSource().register(spark.sparkContext(), runId);
        TensorBoardWriter tensorboard = null;
        try {
            tensorboard = TensorBoardWriter.open(stage.tensorboard(), runId,
                    spark.sparkContext().hadoopConfiguration());
            metrics.worldSize(stage.worldSize());
            metrics.onUpdate(tensorboard::write);
            List<Consumer<JsonObject>> all = new ArrayList<>(consumers);
            all.add(metrics::accept);
            ProgressServer server = new ProgressServer(BarrierStage.driverHost(spark), stage.progressPorts(), secret,
                    new ProgressFeed(all));
            return new LiveProgress(metrics, tensorboard, server);
        } catch (IOException | RuntimeException e) {
            if (tensorboard != null) {
                tensorboard.close();
            }
            metrics.close();
            throw e;
        }
    }

    /** The port rank 0 connects to. */
    public int port() {
        return server.port();
    }

    /** The driver submits attempt {@code n}. */
    public void attempt(int n) {
        metrics.attempt(n);
    }

    @Override
    public void close() throws IOException {
        try {
            server.close();
        } finally {
            tensorboard.close();
            metrics.close();
        }
    }
}
