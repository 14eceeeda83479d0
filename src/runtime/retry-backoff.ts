// One streak of retries of one loop (an informer's list and watch), as
// client-go's reflector paces them with its backoff manager: the first retry
// after about `initialMs`, each next one `factor` times longer up to `capMs`,
// and the streak starts over only when the caller says the thing it retries
// worked (reset). Each delay is jittered downwards, to between (1 - jitter)
// and 1 times the step's nominal delay, so it never exceeds the cap and
// informers that failed together do not retry together.

export interface RetryBackoffPolicy {
  initialMs: number;
  capMs: number;
  factor: number;
  /** In [0, 1]: how much of a step's delay may be taken off at random. */
  jitter: number;
}

/** client-go's reflector: 800 ms, doubling, at most 30 s. */
export const REFLECTOR_BACKOFF: RetryBackoffPolicy = {
  initialMs: 800,
  capMs: 30_000,
  factor: 2,
  jitter: 0.5,
};

export class RetryBackoff {
  readonly policy: RetryBackoffPolicy;
  private readonly random: () => number;
  private steps = 0;

  constructor(policy: Partial<RetryBackoffPolicy> = {}, random: () => number = Math.random) {
    this.policy = { ...REFLECTOR_BACKOFF, ...policy };
    this.random = random;
  }

  /** Failures in the current streak. */
  get failures(): number {
    return this.steps;
  }

  /** The nominal (unjittered) delay of the next step. */
  nominal(): number {
    const { initialMs, capMs, factor } = this.policy;
    // The exponent stops growing once the cap is reached, so it never overflows.
    return Math.min(capMs, initialMs * factor ** Math.min(this.steps, 64));
  }

  /** One more failure: the delay before the next attempt, in milliseconds. */
  next(): number {
    const base = this.nominal();
    this.steps++;
    return Math.max(1, Math.round(base * (1 - this.policy.jitter * this.random())));
  }

  /** The retried thing worked: the next failure starts a new streak. */
  reset(): void {
    this.steps = 0;
  }
}
