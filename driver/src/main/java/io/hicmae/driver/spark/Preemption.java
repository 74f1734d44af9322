package io.hicmae.driver.spark;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Notice that this executor is about to go: SIGTERM (a Kubernetes node drain, a spot reclaim, the pod's deletion)
 * or SIGPWR (what Spark's decommissioning sends an executor). The handler, installed once per JVM by the first
 * training rank, records the notice and holds the signal back while ranks of this JVM are training, until they
 * have taken their step-boundary checkpoint ({@link #release}) or the grace wait ends; then the JVM's own handling
 * goes on (shutdown). Ranks read {@link #requested()} at every step boundary and agree through the barrier
 * ({@code TrainingRankTask}).
 */
public final class Preemption {

    private static final Logger LOG = LogManager.getLogger(Preemption.class);
    /** How long a signal is held while ranks checkpoint: inside Kubernetes' default 30 s grace period. */
    private static final long HOLD_SECONDS = 25;

    private static volatile String reason;
    private static boolean installed;
    private static final AtomicInteger ACTIVE = new AtomicInteger();

    private Preemption() {}

    /** Installs the handlers (once per JVM); a platform without a signal logs and goes on without it. */
    public static synchronized void install() {
        if (installed) {
            return;
        }
        installed = true;
        for (String name : new String[] {"TERM", "PWR"}) {
            try {
                Signal sig = new Signal(name);
                SignalHandler[] previous = new SignalHandler[1];
                previous[0] = Signal.handle(sig, s -> onSignal(s, previous[0]));
            } catch (IllegalArgumentException | UnsupportedOperationException e) {
                LOG.info("no SIG{} handler on this platform ({}): preemption notice off for it", name, e.getMessage());
            }
        }
    }

    private static void onSignal(Signal s, SignalHandler previous) {
        request("SIG" + s.getName() + " to the executor");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HOLD_SECONDS);
        while (ACTIVE.get() > 0) {
            if (System.nanoTime() > deadline) {
                LOG.warn("SIG{}: the ranks did not checkpoint within {} s; going on", s.getName(), HOLD_SECONDS);
                break;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (previous != null && previous != SignalHandler.SIG_IGN && previous != SignalHandler.SIG_DFL) {
            previous.handle(s);
        } else if (previous == SignalHandler.SIG_DFL && "TERM".equals(s.getName())) {
            System.exit(128 + s.getNumber());
        }
    }

    /** Records a notice (also how tests and a decommission listener ask a rank to leave). */
    public static void request(String why) {
        if (reason == null) {
            LOG.warn("preemption notice: {}; the ranks checkpoint at the next step boundary", why);
            reason = why;
        }
    }

    /** The notice's reason, or null when none came. */
    public static String requested() {
        return reason;
    }

    /** A rank of this JVM starts training: a signal is held back until {@link #release}. */
    static void enter() {
        ACTIVE.incrementAndGet();
    }

    /** A rank of this JVM has ended (after its checkpoint for a notice): a held signal may go on. */
    static void release() {
        ACTIVE.decrementAndGet();
    }

    /**
     * Clears a notice that a stopped stage has acted on. The driver calls it before resubmitting: in local mode
     * its JVM trains the next attempt; on a cluster the noticed executor is gone.
     */
    static void reset() {
        reason = null;
    }
}
