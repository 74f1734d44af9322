package io.hicmae.runtime.train;

import ai.djl.Device;
import ai.djl.engine.Engine;

/** Picks the one device a process trains on, from config: "auto" (a GPU when the engine sees one), "cpu", "gpu[:N]". */
public final class Devices {

    private Devices() {}

    public static Device select(String spec) {
        String s = spec == null ? "auto" : spec.trim().toLowerCase(java.util.Locale.ROOT);
        int gpus = Engine.getInstance().getGpuCount();
        if (s.equals("auto")) {
            return gpus > 0 ? Device.gpu() : Device.cpu();
        }
        if (s.equals("cpu")) {
            return Device.cpu();
        }
        if (s.startsWith("gpu")) {
            int id = s.equals("gpu") ? 0 : parseId(spec, s.substring(s.indexOf(':') + 1));
            if (id >= gpus) {
                throw new IllegalArgumentException("Invalid value " + spec + " for configuration device: the engine sees "
                        + gpus + " GPU(s)");
            }
            return Device.gpu(id);
        }
        throw new IllegalArgumentException(
                "Invalid value " + spec + " for configuration device: must be auto, cpu, gpu or gpu:N");
    }

    private static int parseId(String spec, String id) {
        try {
            return Integer.parseInt(id);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(
                    "Invalid value " + spec + " for configuration device: must be auto, cpu, gpu or gpu:N", e);
        }
    }
}
