package io.hicmae.runtime.golden;

import ai.djl.ndarray.NDArray;

/**
 * An elementwise {@code allclose(rtol, atol)} as numpy defines it: |a - b| <= atol + rtol * |b|.
 *
 * @param rtol relative tolerance against the reference
 * @param atol absolute tolerance
 */
public record Tolerance(double rtol, double atol) {

    /** Compares {@code actual} with {@code expected} (the reference) and reports the max abs diff. */
    public Check check(String name, NDArray actual, NDArray expected) {
        if (actual == null) {
            return new Check(name, false, "not produced");
        }
        if (!actual.getShape().equals(expected.getShape())) {
            return new Check(name, false, "shape " + actual.getShape() + ", expected " + expected.getShape());
        }
        float[] a = actual.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        float[] e = expected.toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
        double maxDiff = 0;
        double maxRef = 0;
        long bad = 0;
        for (int i = 0; i < a.length; i++) {
            double d = Math.abs((double) a[i] - e[i]);
            if (!(d <= atol + rtol * Math.abs(e[i]))) {
                bad++;
            }
            maxDiff = Math.max(maxDiff, Double.isNaN(d) ? Double.POSITIVE_INFINITY : d);
            maxRef = Math.max(maxRef, Math.abs(e[i]));
        }
        String detail = String.format(
                "max abs diff %.3g (max |ref| %.3g, rtol %.0e, atol %.0e)", maxDiff, maxRef, rtol, atol);
        return bad == 0 ? new Check(name, true, detail) : new Check(name, false, bad + " elements off; " + detail);
    }
}
