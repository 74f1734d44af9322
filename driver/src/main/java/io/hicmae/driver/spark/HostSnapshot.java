package io.hicmae.driver.spark;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.hicmae.runtime.train.TrainingState;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A training state copied to host memory: one direct buffer per array (parameters, then moments), reused from one
 * checkpoint to the next when the layout is unchanged. {@link #take} runs on the training thread and costs one
 * memory copy of the state; {@link #toState} rebuilds NDArrays on the writer's thread, in the writer's manager.
 * Not thread-safe: the caller hands a snapshot from the training thread to the writer and does not take the next
 * one before the writer is done with it.
 */
final class HostSnapshot {

    private record Tensor(Shape shape, DataType type, ByteBuffer bytes) {}

    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> moments = new LinkedHashMap<>();
    private long step = -1;

    /** Copies {@code live} (its arrays on any device) into this snapshot's host buffers. */
    void take(TrainingState live) {
        copy(live.parameters(), parameters);
        copy(live.moments(), moments);
        step = live.step();
    }

    long step() {
        return step;
    }

    /** Host bytes held. */
    long bytes() {
        long n = 0;
        for (Tensor t : parameters.values()) {
            n += t.bytes().capacity();
        }
        for (Tensor t : moments.values()) {
            n += t.bytes().capacity();
        }
        return n;
    }

    /** The snapshot as a state whose arrays belong to {@code m}. */
    TrainingState toState(NDManager m) {
        return new TrainingState(arrays(parameters, m), arrays(moments, m), step);
    }

    private static void copy(Map<String, NDArray> live, Map<String, Tensor> into) {
        if (!into.keySet().equals(live.keySet())) {
            into.clear();
        }
        for (Map.Entry<String, NDArray> e : live.entrySet()) {
            NDArray a = e.getValue();
            ByteBuffer src = a.toByteBuffer(); // a CPU array's bytes in place, a GPU array's copied to the host
            Tensor t = into.get(e.getKey());
            if (t == null || t.bytes().capacity() != src.remaining() || !t.shape().equals(a.getShape())
                    || t.type() != a.getDataType()) {
                t = new Tensor(a.getShape(), a.getDataType(),
                        ByteBuffer.allocateDirect(src.remaining()).order(ByteOrder.nativeOrder()));
                into.put(e.getKey(), t);
            }
            t.bytes().clear();
            t.bytes().put(src);
            t.bytes().flip();
        }
    }

    private static Map<String, NDArray> arrays(Map<String, Tensor> from, NDManager m) {
        Map<String, NDArray> out = new LinkedHashMap<>();
        from.forEach((k, t) -> out.put(k, m.create(t.bytes().duplicate().order(ByteOrder.nativeOrder()), t.shape(),
                t.type())));
        return out;
    }
}
