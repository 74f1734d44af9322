package io.hicmae.driver.spark;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import io.hicmae.runtime.allreduce.AllReduceConfig;
import io.hicmae.runtime.allreduce.AllReduceException;
import io.hicmae.runtime.allreduce.RingAllReduce;
import io.hicmae.runtime.allreduce.WireDtype;
import io.hicmae.runtime.train.Devices;
import io.hicmae.runtime.train.MallocTuning;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * A rank's side of a barrier stage, shared by pre-training and fine-tuning: the device (the GPU Spark assigned to the
 * task, else the configured one), libtorch's threads (the task's CPUs), the rendezvous (every rank publishes its ring
 * listener through {@code allGather}, index = rank) and the ring connect; and the parameter hashes ranks compare.
 */
public final class RankSetup {

    private static final Logger LOG = LogManager.getLogger(RankSetup.class);

    private RankSetup() {}

    /**
     * Limits libtorch's intra-op pool to the task's CPUs: the pool is per process, ranks sharing an executor JVM would
     * oversubscribe its cores, and OpenMP threads spin while they wait.
     */
    public static void useTaskCpus(TaskContext ctx) {
        ai.djl.engine.Engine.getInstance(); // loads libtorch, whose native methods the call below needs
        ai.djl.pytorch.jni.JniUtils.setNumThreads(Math.max(1, ctx.cpus()));
    }

    private static final java.util.concurrent.atomic.AtomicBoolean MALLOC_HINTED =
            new java.util.concurrent.atomic.AtomicBoolean();

    /**
     * Warns once per JVM when a CPU rank runs in a process that started without glibc's malloc thresholds fixed
     * ({@link MallocTuning}): its steps then pay page faults that the settings avoid.
     */
    public static void checkMalloc(Device device) {
        if (device.isGpu() || MallocTuning.active(System.getenv("GLIBC_TUNABLES"))) {
            return;
        }
        if (MALLOC_HINTED.compareAndSet(false, true)) {
            LOG.warn(MallocTuning.hint());
        }
    }

    /** The device: the GPU Spark assigned to this task if any, else the configured device. */
    public static Device device(TaskContext ctx, String configured) {
        String gpu = assignedGpu(ctx);
        if (gpu != null) {
            if (ai.djl.engine.Engine.getInstance().getGpuCount() == 0) {
                LOG.warn("Spark assigned GPU {} to this task but the engine sees no CUDA device; running on CPU", gpu);
                return Device.cpu();
            }
            return Devices.select("gpu:" + gpu);
        }
        return Devices.select(configured);
    }

    /** The GPU address Spark assigned to this task, or null. */
    public static String assignedGpu(TaskContext ctx) {
        ResourceInformation gpu = ctx.resources().get("gpu").getOrElse(() -> null);
        return gpu == null || gpu.addresses().length == 0 ? null : gpu.addresses()[0];
    }

    /** This task's host, as the barrier context lists it. */
    public static String host(BarrierTaskContext ctx) {
        String address = ctx.getTaskInfos()[ctx.partitionId()].address();
        int colon = address.lastIndexOf(':');
        return colon > 0 ? address.substring(0, colon) : address;
    }

    /**
     * Opens this rank's ring listener on the executor's own address (never every interface) at the first free port
     * of {@code ports}.
     */
    public static RingAllReduce bindRing(BarrierTaskContext ctx, PortRange ports) throws java.io.IOException {
        return ports.bind(host(ctx), RingAllReduce::bind);
    }

    /**
     * Publishes this rank's ring listener through {@code allGather} and connects the ring: every peer proves
     * {@code secret}, and ranks whose {@code layoutHash} differ refuse each other.
     */
    public static void connectRing(BarrierTaskContext ctx, RingAllReduce ring, byte[] secret, long layoutHash,
            Duration connectTimeout, Duration ioTimeout) throws AllReduceException {
        connectRing(ctx, ring, secret, layoutHash, connectTimeout, ioTimeout, "", 0, WireDtype.FP32);
    }

    /**
     * As above, with the ring bound to the run and its attempt (a rank of another run or attempt is refused at the
     * handshake, though every attempt shares the secret) and the wire dtype every rank must share.
     */
    public static void connectRing(BarrierTaskContext ctx, RingAllReduce ring, byte[] secret, long layoutHash,
            Duration connectTimeout, Duration ioTimeout, String runId, int attempt, WireDtype wire)
            throws AllReduceException {
        String[] addresses = ctx.allGather(host(ctx) + ":" + ring.localAddress().getPort());
        List<InetSocketAddress> peers = new ArrayList<>();
        for (String a : addresses) {
            int colon = a.lastIndexOf(':');
            peers.add(new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1))));
        }
        ring.connect(AllReduceConfig.withDefaults(ctx.partitionId(), peers, secret, layoutHash)
                .withTimeouts(connectTimeout, ioTimeout, Clock.systemUTC()).withRun(runId, attempt)
                .withWireDtype(wire));
    }

    /** A hash of parameter keys and shapes, in map order: ranks with different models refuse each other at connect. */
    public static long layoutHash(Map<String, NDArray> parameters) {
        long h = 1125899906842597L;
        for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
            h = 31 * h + e.getKey().hashCode();
            h = 31 * h + e.getValue().getShape().toString().hashCode();
        }
        return h;
    }

    /** SHA-256 over every parameter's key and bytes in map order: equal on every rank at the end of a run. */
    public static String digest(Map<String, NDArray> parameters) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
                md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                ByteBuffer b = e.getValue().toByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
                md.update(b);
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
