// Requeue horizons of the controllers: the per-object exponential backoff for
// Vault errors (the runtime's ExponentialBackoff, configured by the
// --backoff-* flags), the jittered refresh, and the capped, growing recheck of
// configuration errors. Every streak belongs to one controller and one object
// (as client-go's per-item rate limiter belongs to one queue): a
// VaultStaticSecret that succeeds never resets the backoff of a failing
// VaultPKISecret of the same namespace and name.
import { type BackoffPolicy, ExponentialBackoff } from "../runtime/backoff.ts";

/**
 * How configuration errors are rechecked. They are not retried with the
 * transient backoff (a retry cannot cure them; a change of the resource or of
 * what it references enqueues it at once), but some causes cannot be watched
 * (a Secret someone else owns, a Vault role, a service account), so the
 * reconciler still looks again: first after VSO's 4-4.5 s, each next time
 * twice as late, at most 5 minutes (controller-runtime's per-item default is
 * 5 ms doubling up to 1000 s). The streak starts over when the object's inputs
 * change (its generation, or labels and annotations for the secret kinds:
 * the fingerprint) or a referenced object changes (`changed`), and ends with a
 * success.
 */
export const CONFIG_RECHECK = { initialMs: 5000, multiplier: 2, maxMs: 5 * 60_000 } as const;

interface ConfigStreak {
  fingerprint: string;
  nextMs: number;
}

/**
 * The backoff of the reconcilers that compute their own retry delay, one
 * streak per controller and object: `next` for transient failures (undefined
 * once --backoff-max-elapsed-time has passed, which as a requeueAfterMs means
 * "do not requeue": VSO stops retrying then), `configError` for configuration
 * failures.
 */
export class BackoffRegistry {
  private readonly transient: ExponentialBackoff;
  private readonly config = new Map<string, ConfigStreak>();
  private readonly random: () => number;

  constructor(
    policy: Partial<BackoffPolicy> = {},
    clock: { now?: () => number; random?: () => number } = {},
  ) {
    this.transient = new ExponentialBackoff(policy, clock);
    this.random = clock.random ?? Math.random;
  }

  /** The delay before retrying `key` of `controller` after another transient failure (undefined: stop). */
  next(controller: string, key: string): number | undefined {
    return this.transient.next(streakKey(controller, key));
  }

  /** Whether `key` of `controller` is in a transient failure streak. */
  failing(controller: string, key: string): boolean {
    return this.transient.failing(streakKey(controller, key));
  }

  /**
   * The delay before rechecking `key` of `controller` after another
   * configuration failure. `fingerprint` names the object's inputs (say its
   * generation): a different one starts the streak over.
   */
  configError(controller: string, key: string, fingerprint: string): number {
    const k = streakKey(controller, key);
    const prev = this.config.get(k);
    const current = prev && prev.fingerprint === fingerprint ? prev.nextMs : CONFIG_RECHECK.initialMs;
    this.config.set(k, {
      fingerprint,
      nextMs: Math.min(CONFIG_RECHECK.maxMs, current * CONFIG_RECHECK.multiplier),
    });
    return jitteredRefresh(current, this.random());
  }

  /**
   * The configuration streak of `key` of `controller` ends: something it
   * references changed, or it succeeded; its next configuration failure is
   * rechecked soon again.
   */
  clearConfig(controller: string, key: string): void {
    this.config.delete(streakKey(controller, key));
  }

  /** A success, or the object gone: both streaks of `key` of `controller` end. */
  reset(controller: string, key: string): void {
    const k = streakKey(controller, key);
    this.transient.reset(k);
    this.config.delete(k);
  }
}

function streakKey(controller: string, key: string): string {
  // Neither a controller name nor a namespace/name holds a space.
  return `${controller} ${key}`;
}

/** A requeue delay at 80-90 % of d (VSO's refreshAfter jitter); `random` in [0, 1) is injectable for tests. */
export function jitteredRefresh(ms: number, random: number = Math.random()): number {
  return Math.max(1, Math.round(ms * (0.9 - random * 0.1)));
}
