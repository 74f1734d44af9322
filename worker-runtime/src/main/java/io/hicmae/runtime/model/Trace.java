package io.hicmae.runtime.model;

import ai.djl.ndarray.NDArray;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named intermediates of one forward pass, under the golden files' names ({@code enc_v.block0.out}, ...), for the
 * golden checks. {@link #OFF} records nothing and is what training uses.
 */
public final class Trace {

    /** Records nothing. */
    public static final Trace OFF = new Trace(false);

    private final boolean on;
    private final Map<String, NDArray> values = new LinkedHashMap<>();

    private Trace(boolean on) {
        this.on = on;
    }

    /** A trace that keeps every recorded array (valid until the arrays' manager closes). */
    public static Trace recording() {
        return new Trace(true);
    }

    public boolean isOn() {
        return on;
    }

    public void put(String name, NDArray value) {
        if (on) {
            values.put(name, value);
        }
    }

    public Map<String, NDArray> values() {
        return values;
    }
}
