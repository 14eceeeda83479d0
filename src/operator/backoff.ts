// Per-object exponential backoff for errors from Vault (VSO's BackOffRegistry
// and its --backoff-* flags): initial interval, multiplier, randomization
// factor, maximum interval; reset after a success.
import type { BackoffOptions } from "./config.ts";

export class BackoffRegistry {
  private readonly opts: BackoffOptions;
  private readonly state = new Map<string, { next: number; since: number }>();

  constructor(opts: BackoffOptions) {
    this.opts = opts;
  }

  /** The delay before the next retry of this key, in milliseconds. */
  next(key: string): number {
    const now = Date.now();
    const s = this.state.get(key) ?? { next: this.opts.initialIntervalMs, since: now };
    const current = s.next;
    s.next = Math.min(this.opts.maxIntervalMs, current * this.opts.multiplier);
    this.state.set(key, s);
    const r = this.opts.randomizationFactor;
    return Math.max(1, Math.round(current * (1 - r + Math.random() * 2 * r)));
  }

  /** Whether --backoff-max-elapsed-time has passed since the first failure (0 = never). */
  givenUp(key: string): boolean {
    const s = this.state.get(key);
    return this.opts.maxElapsedMs > 0 && s !== undefined && Date.now() - s.since > this.opts.maxElapsedMs;
  }

  reset(key: string): void {
    this.state.delete(key);
  }
}

/** A requeue delay at 80-90 % of d (VSO's refreshAfter jitter). */
export function jitteredRefresh(ms: number): number {
  return Math.max(1, Math.round(ms * (0.9 - Math.random() * 0.1)));
}

/** About 4-4.5 s, for configuration errors that are not retried with backoff. */
export function configErrorRequeue(): number {
  return jitteredRefresh(5000);
}
