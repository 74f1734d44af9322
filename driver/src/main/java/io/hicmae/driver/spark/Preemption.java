package io.hicmae.driver.spark;

import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import sun.misc.Signal;
import sun.misc.SignalHandler;

import java.util.concurrent.TimeUnit;

/**
 * Notice that this executor is about to go: SIGTERM (a Kubernetes node drain, a spot reclaim, the pod's deletion)
 * or SIGPWR (what Spark's decommissioning sends an executor). The handler, installed once per JVM by the first
 * training rank, records the notice and holds the signal back while the ranks of this JVM that were training when it
 * came have not ended (each after its step-boundary checkpoint, {@link #release}) and the grace wait lasts; then the
 * JVM's own handling goes on (shutdown). A rank of a resubmitted attempt that starts here meanwhile does not
 * prolong the hold. Ranks read {@link #requested()} at every step boundary and agree through the barrier
 * ({@code TrainingRankTask}).
 */
public final class Preemption {

    private static final Logger LOG = LogManager.getLogger(Preemption.class);
    /** How long a signal is held while ranks checkpoint: inside Kubernetes' default 30 s grace period. */
    private static final long HOLD_SECONDS = 25;

    private static volatile String reason;
    private static boolean installed;
    /** The training ranks of this JVM, by the token {@link #enter} gave them. */
    private static final java.util.Set<Long> ACTIVE = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final java.util.concurrent.atomic.AtomicLong TOKENS = new java.util.concurrent.atomic.AtomicLong();

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
        java.util.Set<Long> noticed = java.util.Set.copyOf(ACTIVE);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(HOLD_SECONDS);
        while (noticed.stream().anyMatch(ACTIVE::contains)) {
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

    /**
     * A rank of this JVM starts training: a signal that comes while it trains is held back until it calls
     * {@link #release} with the returned token.
     */
    static long enter() {
        long token = TOKENS.incrementAndGet();
        ACTIVE.add(token);
        return token;
    }

    /** The rank of {@code token} has ended (after its checkpoint for a notice): a held signal may go on. */
    static void release(long token) {
        ACTIVE.remove(token);
    }

    /**
     * Clears a notice that a stopped stage has acted on. The driver calls it before resubmitting: in local mode
     * its JVM trains the next attempt; on a cluster the noticed executor is gone.
     */
    static void reset() {
        reason = null;
    }
}
