package io.hicmae.driver.spark;

import java.io.IOException;
import java.io.Serializable;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * The ports a listener may bind, so that a NetworkPolicy or firewall can name them: {@code 0} (any free port, the
 * default), one port {@code N}, or an inclusive range {@code N-M} whose first free port is taken.
 *
 * @param first the lowest port, 0 for any
 * @param last the highest port (equal to {@code first} for a single port)
 */
public record PortRange(int first, int last) implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Any free port. */
    public static final PortRange ANY = new PortRange(0, 0);

    /** The syntax {@link #parse} accepts, for config validators. */
    public static final String PATTERN = "0|[1-9][0-9]{0,4}(-[1-9][0-9]{0,4})?";

    public PortRange {
        if (first < 0 || last > 65_535 || last < first || (first == 0 && last != 0)) {
            throw new IllegalArgumentException("bad port range " + first + "-" + last
                    + ": want 0 (any), N or N-M with 1 <= N <= M <= 65535");
        }
    }

    /** Parses {@code 0}, {@code N} or {@code N-M}; throws naming the text otherwise. */
    public static PortRange parse(String text) {
        if (text == null || !text.trim().matches(PATTERN)) {
            throw new IllegalArgumentException("bad port range '" + text + "': want 0 (any), N or N-M");
        }
        String[] parts = text.trim().split("-");
        int a = Integer.parseInt(parts[0]);
        return new PortRange(a, parts.length == 2 ? Integer.parseInt(parts[1]) : a);
    }

    /** A server socket bound to {@code host} on the first free port of the range; fails naming the range. */
    public ServerSocket bind(InetAddress host) throws IOException {
        for (int port = first; port <= last; port++) {
            ServerSocket s = new ServerSocket();
            try {
                s.bind(new InetSocketAddress(host, port));
                return s;
            } catch (BindException e) {
                s.close();
            } catch (IOException | RuntimeException e) {
                s.close();
                throw e;
            }
        }
        throw new BindException("no free port in " + this + " on " + host.getHostAddress());
    }

    @Override
    public String toString() {
        return first == last ? Integer.toString(first) : first + "-" + last;
    }
}
