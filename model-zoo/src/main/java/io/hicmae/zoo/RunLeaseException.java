package io.hicmae.zoo;

/**
 * A run's lease refused an action: another live job holds the run (a second job on the run id), or a writer's epoch
 * is stale because the run was taken over (it may neither commit nor delete). The message names the holder and since
 * when.
 */
public final class RunLeaseException extends ZooException {
    public RunLeaseException(String message) {
        super(message);
    }
}
