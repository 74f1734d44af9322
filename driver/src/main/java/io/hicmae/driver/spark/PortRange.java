package io.hicmae.driver.spark;

import java.io.IOException;
import java.io.Serializable;
import java.net.BindException;
import java.net.InetSocketAddress;

/**
 * The TCP ports a listener may take: {@code 0} (any free port, the default) or a fixed range {@code LO-HI}, so that a
 * firewall or a Kubernetes NetworkPolicy can admit exactly those ports. A listener takes the first free port of the
 * range; several ranks sharing a host need as many ports as there are ranks on it.
 *
 * @param low first port, or 0 for any free port
 * @param high last port (inclusive), or 0 for any free port
 */
public record PortRange(int low, int high) implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Any free port. */
    public static final PortRange ANY = new PortRange(0, 0);

    public PortRange {
        boolean any = low == 0 && high == 0;
        if (!any && (low < 1024 || high > 65535 || low > high)) {
            throw new IllegalArgumentException("Invalid port range " + low + "-" + high
                    + ": must be 0 (any free port) or LO-HI with 1024 <= LO <= HI <= 65535");
        }
    }

    /** {@code "0"}, {@code "40100"} or {@code "40100-40199"}; throws naming the text otherwise. */
    public static PortRange parse(String text) {
        String t = text == null ? "" : text.trim();
        if (!t.matches("[0-9]{1,5}(-[0-9]{1,5})?")) {
            throw new IllegalArgumentException("Invalid port range '" + text + "': must be 0, PORT or LO-HI");
        }
        int dash = t.indexOf('-');
        int low = Integer.parseInt(dash < 0 ? t : t.substring(0, dash));
        int high = dash < 0 ? low : Integer.parseInt(t.substring(dash + 1));
        return new PortRange(low, high);
    }

    public boolean any() {
        return low == 0;
    }

    /** Opens a listener on {@code host} at the first free port of this range. */
    public <T> T bind(String host, Binder<T> binder) throws IOException {
        if (any()) {
            return binder.bind(new InetSocketAddress(host, 0));
        }
        BindException last = null;
        for (int port = low; port <= high; port++) {
            try {
                return binder.bind(new InetSocketAddress(host, port));
            } catch (BindException e) {
                last = e;
            }
        }
        BindException e = new BindException("no free port in " + this + " on " + host + " (every port is in use)");
        e.initCause(last);
        throw e;
    }

    /** Opens a listener at one address; throws {@link BindException} when the port is taken. */
    @FunctionalInterface
    public interface Binder<T> {
        T bind(InetSocketAddress address) throws IOException;
    }

    @Override
    public String toString() {
        return any() ? "0" : low == high ? Integer.toString(low) : low + "-" + high;
    }
}
