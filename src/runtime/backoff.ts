// Per-key exponential backoff for transient failures, with the semantics of
// VSO's BackOffRegistry and its --backoff-* flags: the first retry after the
// initial interval, each next one `multiplier` times longer up to the maximum
// interval, every delay randomized by ± randomizationFactor; a success resets
// the key. With maxElapsedMs > 0, retrying stops once that much time has passed
// since the first failure of the current streak (VSO: "stops retrying and
// leaves stale secrets"); the streak then starts over on the next event.

export interface BackoffPolicy {
  initialIntervalMs: number;
  maxIntervalMs: number;
  /** Give up this long after the first failure; 0 never gives up. */
  maxElapsedMs: number;
  randomizationFactor: number;
  multiplier: number;
}

/** VSO's defaults: 5 s, x1.5, ±50 %, at most 60 s, never give up. */
export const DEFAULT_BACKOFF: BackoffPolicy = {
  initialIntervalMs: 5000,
  maxIntervalMs: 60_000,
  maxElapsedMs: 0,
  randomizationFactor: 0.5,
  multiplier: 1.5,
};

export class ExponentialBackoff {
  private readonly policy: BackoffPolicy;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly state = new Map<string, { next: number; since: number }>();

  constructor(
    policy: Partial<BackoffPolicy> = {},
    clock: { now?: () => number; random?: () => number } = {},
  ) {
    this.policy = { ...DEFAULT_BACKOFF, ...policy };
    this.now = clock.now ?? Date.now;
    this.random = clock.random ?? Math.random;
  }

  /**
   * The delay before retrying `key` after another failure, in milliseconds, or
   * undefined when the maximum elapsed time has passed and retrying must stop.
   */
  next(key: string): number | undefined {
    const now = this.now();
    const s = this.state.get(key) ?? { next: this.policy.initialIntervalMs, since: now };
    if (this.policy.maxElapsedMs > 0 && now - s.since >= this.policy.maxElapsedMs) {
      this.state.delete(key);
      return undefined;
    }
    const current = s.next;
    s.next = Math.min(this.policy.maxIntervalMs, current * this.policy.multiplier);
    this.state.set(key, s);
    const r = this.policy.randomizationFactor;
    return Math.max(1, Math.round(current * (1 - r + this.random() * 2 * r)));
  }

  /** Whether `key` is in a failure streak. */
  failing(key: string): boolean {
    return this.state.has(key);
  }

  reset(key: string): void {
    this.state.delete(key);
  }
}
