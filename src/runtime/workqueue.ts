// A rate-limited, de-duplicating work queue in the shape of client-go's:
// - a key is queued at most once; a key being processed is never handed to a
//   second worker, and if it is added again meanwhile it is re-queued when done;
// - per-key exponential backoff for failures, plus an overall token bucket;
// - delayed adds (requeueAfter) keep only the earliest due time per key;
// - two priorities: keys added because something changed ("high") are served
//   before periodic refreshes ("low"), so new resources are not starved.
// Written by hand: no maintained npm package has these semantics.

import { clampDelay, setClampedTimeout } from "../util/timers.ts";

export type Priority = "high" | "low";

export interface RateLimiterOptions {
  baseDelayMs: number;
  maxDelayMs: number;
  /** Overall rate (tokens per second) and burst of the shared bucket. */
  qps: number;
  burst: number;
}

export const DEFAULT_RATE_LIMITS: RateLimiterOptions = {
  baseDelayMs: 5,
  maxDelayMs: 1000_000,
  qps: 10,
  burst: 100,
};

export class RateLimiter {
  private readonly failures = new Map<string, number>();
  private tokens: number;
  private last = Date.now();
  private readonly opts: RateLimiterOptions;

  constructor(opts: Partial<RateLimiterOptions> = {}) {
    this.opts = { ...DEFAULT_RATE_LIMITS, ...opts };
    this.tokens = this.opts.burst;
  }

  /** Delay before the next retry of this key: max(per-key exponential, overall bucket). */
  when(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const exp = Math.min(this.opts.baseDelayMs * 2 ** n, this.opts.maxDelayMs);
    return Math.max(exp, this.reserve());
  }

  private reserve(): number {
    const now = Date.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.last) / 1000) * this.opts.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : Math.ceil((-this.tokens / this.opts.qps) * 1000);
  }

  retries(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }
}

/** What a queue reports, as client-go's workqueue metrics provider does (adds, time waited, retries). */
export interface QueueObserver {
  added(): void;
  waited(seconds: number): void;
  retried(): void;
}

export class WorkQueue {
  private readonly high: string[] = [];
  private readonly low: string[] = [];
  private readonly queued = new Map<string, Priority>();
  private readonly processing = new Set<string>();
  /** Keys added while being processed, with the priority to queue them at when done. */
  private readonly dirtyWhileProcessing = new Map<string, Priority>();
  private readonly delayed = new Map<string, { due: number; timer: NodeJS.Timeout; priority: Priority }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shuttingDown = false;
  /** When each queued key was added (for the time it waited); only with an observer. */
  private readonly addedAt = new Map<string, number>();
  private readonly observer?: QueueObserver;
  readonly limiter: RateLimiter;

  constructor(limiter = new RateLimiter(), observer?: QueueObserver) {
    this.limiter = limiter;
    this.observer = observer;
  }

  private handedOut(key: string): void {
    if (!this.observer) return;
    const at = this.addedAt.get(key);
    this.addedAt.delete(key);
    if (at !== undefined) this.observer.waited((performance.now() - at) / 1000);
  }

  add(key: string, priority: Priority = "high"): void {
    if (this.shuttingDown) return;
    if (this.processing.has(key)) {
      const prev = this.dirtyWhileProcessing.get(key);
      this.dirtyWhileProcessing.set(key, prev === "high" ? "high" : priority);
      return;
    }
    const existing = this.queued.get(key);
    if (existing !== undefined) {
      if (existing === "low" && priority === "high") {
        // Promote: a change should not wait behind periodic refreshes.
        const i = this.low.indexOf(key);
        if (i >= 0) this.low.splice(i, 1);
        this.high.push(key);
        this.queued.set(key, "high");
      }
      return;
    }
    this.cancelDelayed(key);
    this.queued.set(key, priority);
    if (this.observer) {
      this.observer.added();
      this.addedAt.set(key, performance.now());
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      this.queued.delete(key);
      this.processing.add(key);
      this.handedOut(key);
      waiter(key);
      return;
    }
    (priority === "high" ? this.high : this.low).push(key);
  }

  /** Adds the key after a delay; an earlier pending delay for the same key wins. */
  addAfter(key: string, requestedMs: number, priority: Priority = "low"): void {
    if (this.shuttingDown) return;
    // The one place every requeue passes through: clamp to what a timer can hold.
    const delayMs = clampDelay(requestedMs);
    if (delayMs <= 0) {
      this.add(key, priority);
      return;
    }
    const due = Date.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.due <= due) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setClampedTimeout(() => {
      this.delayed.delete(key);
      this.add(key, priority);
    }, delayMs);
    this.delayed.set(key, { due, timer, priority });
  }

  addRateLimited(key: string): number {
    this.observer?.retried();
    const delay = this.limiter.when(key);
    this.addAfter(key, delay, "high");
    return delay;
  }

  forget(key: string): void {
    this.limiter.forget(key);
  }

  /** When the key is next due from a delayed add, if any. */
  pendingDue(key: string): number | undefined {
    return this.delayed.get(key)?.due;
  }

  private cancelDelayed(key: string): void {
    const pending = this.delayed.get(key);
    if (pending) {
      clearTimeout(pending.timer);
      this.delayed.delete(key);
    }
  }

  /** Waits for the next key; resolves undefined once the queue shuts down. */
  async get(): Promise<string | undefined> {
    const key = this.high.shift() ?? this.low.shift();
    if (key !== undefined) {
      this.queued.delete(key);
      this.processing.add(key);
      this.handedOut(key);
      return key;
    }
    if (this.shuttingDown) return undefined;
    return await new Promise((resolve) => this.waiters.push(resolve));
  }

  done(key: string): void {
    this.processing.delete(key);
    const again = this.dirtyWhileProcessing.get(key);
    if (again !== undefined) {
      this.dirtyWhileProcessing.delete(key);
      this.add(key, again);
    }
  }

  len(): number {
    return this.high.length + this.low.length;
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  shutdown(): void {
    this.shuttingDown = true;
    for (const { timer } of this.delayed.values()) clearTimeout(timer);
    this.delayed.clear();
    this.addedAt.clear();
    for (const w of this.waiters.splice(0)) w(undefined);
  }
}
