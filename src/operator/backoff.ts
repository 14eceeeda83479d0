// Requeue horizons of the secret controllers (VSO's): the per-object
// exponential backoff for Vault errors (the runtime's ExponentialBackoff,
// configured by the --backoff-* flags), the jittered refresh, and the short
// recheck of configuration errors.
import { ExponentialBackoff } from "../runtime/backoff.ts";

/**
 * Backoff shared by the reconcilers that still compute their own retry delay:
 * next() is undefined once --backoff-max-elapsed-time has passed, which as a
 * requeueAfterMs means "do not requeue" (VSO stops retrying then).
 */
export class BackoffRegistry extends ExponentialBackoff {}

/** A requeue delay at 80-90 % of d (VSO's refreshAfter jitter); `random` in [0, 1) is injectable for tests. */
export function jitteredRefresh(ms: number, random: number = Math.random()): number {
  return Math.max(1, Math.round(ms * (0.9 - random * 0.1)));
}

/** About 4-4.5 s, for configuration errors that are not retried with backoff. */
export function configErrorRequeue(): number {
  return jitteredRefresh(5000);
}
