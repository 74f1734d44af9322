package io.hicmae.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Emulated hosts on one machine: {@code n} network namespaces and the root namespace joined by a Linux bridge, each
 * namespace's link and the root's own link shaped with {@code tbf} (egress, as bench/netns/hosts.sh does), so that
 * processes started through {@link #command} talk over real, rate-limited links with their own addresses. The root
 * namespace gets its own veth on the bridge and address {@link #rootAddress()} (the Spark Master and driver bind
 * there, not to loopback). {@link #cut} takes a host's link down and {@link #restore} brings it back, as a pulled
 * cable would. Names are unique per instance; {@link #close} removes everything. Needs root and {@code ip} +
 * {@code tc}: {@link #unavailableReason()} says why not otherwise.
 */
public final class NetnsHosts implements AutoCloseable {
    private static final Duration IP_TIMEOUT = Duration.ofSeconds(30);

    private final String sfx;
    private final String net;
    private final int n;
    private final List<String> created = new ArrayList<>();
    private boolean closed;

    private NetnsHosts(int n, String sfx, String net) {
        this.n = n;
        this.sfx = sfx;
        this.net = net;
    }

    /** Null when namespaces can be made here, else why not (for a test's skip message). */
    public static String unavailableReason() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "not root (user " + System.getProperty("user.name") + "): cannot create network namespaces";
        }
        for (String tool : List.of("ip", "tc")) {
            try {
                if (run(List.of(tool, "-V")).exit != 0) {
                    return "'" + tool + " -V' failed";
                }
            } catch (IOException e) {
                return "no '" + tool + "' command (iproute2): " + e.getMessage();
            }
        }
        return null;
    }

    /** Creates {@code n} hosts and the root's link, every link shaped to {@code rate} (a tc rate, e.g. 1gbit). */
    public static NetnsHosts create(int n, String rate) throws IOException {
        SecureRandom random = new SecureRandom();
        byte[] b = new byte[2];
        random.nextBytes(b);
        String sfx = HexFormat.of().formatHex(b);
        String net = null;
        String addrs = run(List.of("ip", "-o", "addr")).out;
        for (int i = 0; i < 50 && net == null; i++) {
            String candidate = "10." + (64 + random.nextInt(128)) + "." + random.nextInt(250);
            if (!addrs.contains(" " + candidate + ".")) {
                net = candidate;
            }
        }
        if (net == null) {
            throw new IOException("no free 10.x.y.0/24 for the emulated hosts");
        }
        NetnsHosts hosts = new NetnsHosts(n, sfx, net);
        try {
            hosts.build(rate);
        } catch (IOException | RuntimeException e) {
            hosts.close();
            throw e;
        }
        return hosts;
    }

    private void build(String rate) throws IOException {
        String br = "hbr" + sfx;
        ip("link", "add", br, "type", "bridge");
        created.add("link:" + br);
        ip("link", "set", br, "up");
        // The root namespace's own link: rvr<sfx> (root side, with the address) <-> hvr<sfx> (on the bridge).
        ip("link", "add", "rvr" + sfx, "type", "veth", "peer", "name", "hvr" + sfx);
        created.add("link:rvr" + sfx);
        ip("link", "set", "hvr" + sfx, "master", br, "up");
        ip("addr", "add", rootAddress() + "/24", "dev", "rvr" + sfx);
        ip("link", "set", "rvr" + sfx, "up");
        tc(null, "rvr" + sfx, rate);
        for (int r = 0; r < n; r++) {
            String ns = namespace(r);
            ip("netns", "add", ns);
            created.add("netns:" + ns);
            ip("link", "add", veth(r), "type", "veth", "peer", "name", "hvn" + sfx + r);
            ip("link", "set", veth(r), "master", br, "up");
            ip("link", "set", "hvn" + sfx + r, "netns", ns);
            ip("-n", ns, "addr", "add", address(r) + "/24", "dev", "hvn" + sfx + r);
            ip("-n", ns, "link", "set", "lo", "up");
            ip("-n", ns, "link", "set", "hvn" + sfx + r, "up");
            tc(ns, "hvn" + sfx + r, rate);
        }
    }

    /** The root namespace's address on the bridge. */
    public String rootAddress() {
        return net + ".1";
    }

    /** Host {@code r}'s address. */
    public String address(int r) {
        return net + "." + (10 + r);
    }

    /** Host {@code r}'s namespace name. */
    public String namespace(int r) {
        return "hns" + sfx + "-" + r;
    }

    /** {@code command} run inside host {@code r}'s namespace ({@code ip netns exec}, which execs it). */
    public List<String> command(int r, List<String> command) {
        List<String> out = new ArrayList<>(List.of("ip", "netns", "exec", namespace(r)));
        out.addAll(command);
        return out;
    }

    /** Takes host {@code r}'s link down at the bridge: nothing reaches it or leaves it until {@link #restore}. */
    public void cut(int r) throws IOException {
        ip("link", "set", veth(r), "down");
    }

    /** Brings host {@code r}'s link back up. */
    public void restore(int r) throws IOException {
        ip("link", "set", veth(r), "up");
    }

    private String veth(int r) {
        return "hvh" + sfx + r;
    }

    private static void tc(String ns, String dev, String rate) throws IOException {
        List<String> c = new ArrayList<>();
        if (ns != null) {
            c.addAll(List.of("ip", "netns", "exec", ns));
        }
        c.addAll(List.of("tc", "qdisc", "add", "dev", dev, "root", "tbf", "rate", rate, "burst", "256kb",
                "latency", "50ms"));
        check(c, run(c));
    }

    private static void ip(String... args) throws IOException {
        List<String> c = new ArrayList<>(List.of("ip"));
        c.addAll(List.of(args));
        check(c, run(c));
    }

    private static void check(List<String> command, Result r) throws IOException {
        if (r.exit != 0) {
            throw new IOException("'" + String.join(" ", command) + "' failed (exit " + r.exit + "): " + r.out.strip());
        }
    }

    private record Result(int exit, String out) {}

    private static Result run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            if (!p.waitFor(IP_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("'" + String.join(" ", command) + "' did not finish within " + IP_TIMEOUT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted running " + command, e);
        }
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    /** Removes the namespaces (and so their veths), the root's veth and the bridge; processes inside must be gone. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        List<String> failures = new ArrayList<>();
        for (int i = created.size() - 1; i >= 0; i--) {
            String[] what = created.get(i).split(":", 2);
            List<String> c = what[0].equals("netns") ? List.of("ip", "netns", "del", what[1])
                    : List.of("ip", "link", "del", what[1]);
            try {
                Result r = run(c);
                if (r.exit != 0) {
                    failures.add(String.join(" ", c) + ": " + r.out.strip());
                }
            } catch (IOException e) {
                failures.add(String.join(" ", c) + ": " + e.getMessage());
            }
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("could not remove every emulated host: " + failures);
        }
    }
}
