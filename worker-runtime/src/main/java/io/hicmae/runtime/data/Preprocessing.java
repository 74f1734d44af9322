package io.hicmae.runtime.data;

import ai.djl.Device;

/**
 * Where a pre-training batch's stored pixels and samples become model inputs (crop, normalisation, fbank with gain).
 * Both places draw the same randomness in the same order ({@link BatchAssembler}) and give the same inputs: video
 * byte for byte, audio within the golden fbank tolerance.
 */
public enum Preprocessing {

    /**
     * In Java on the loader thread ({@link MultiScaleCrop}, {@link ClipTensors}, {@link io.hicmae.runtime.audio.KaldiFbank}),
     * overlapped with the step: for the CPU device, where the step thread has no time to spare and the engine's
     * batched version costs more than the Java code.
     */
    HOST,

    /**
     * Batched engine operations on the step's device ({@link DevicePreprocessor}); the loader thread only copies the
     * stored bytes: for a GPU, which a Java loader thread could not feed.
     */
    DEVICE;

    /** {@link #DEVICE} for a GPU, {@link #HOST} otherwise. */
    public static Preprocessing forDevice(Device device) {
        return device.isGpu() ? DEVICE : HOST;
    }

    /** {@code host}, {@code device} or {@code auto} (by {@code device}); anything else is refused, naming it. */
    public static Preprocessing parse(String name, Device device) {
        return switch (name) {
            case "host" -> HOST;
            case "device" -> DEVICE;
            case "auto" -> forDevice(device);
            default -> throw new IllegalArgumentException("Invalid value " + name
                    + " for configuration preprocessing: must be host, device or auto");
        };
    }
}
