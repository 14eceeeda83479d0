// A controller: a work queue fed by informers and served by N workers, each
// calling the kind's reconciler with a "namespace/name" key. A reconciler never
// sleeps: it returns when to look again (requeueAfter) or throws to be retried
// with the queue's per-key backoff.
import type { Logger } from "pino";
import { type Priority, RateLimiter, type RateLimiterOptions, WorkQueue } from "./workqueue.ts";

export interface ReconcileResult {
  /** Look at this object again after this many milliseconds (a periodic refresh). */
  requeueAfterMs?: number;
  /** Retry with the queue's backoff without counting as an error (e.g. waiting on a dependency). */
  requeue?: boolean;
}

export type Reconciler = (key: { namespace: string; name: string }) => Promise<ReconcileResult | undefined>;

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  workers: number;
  log: Logger;
  rateLimits?: Partial<RateLimiterOptions>;
  onReconcileDone?: (name: string, outcome: "success" | "error" | "requeue", seconds: number) => void;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly opts: ControllerOptions;
  private workers: Promise<void>[] = [];
  private running = false;

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.queue = new WorkQueue(new RateLimiter(opts.rateLimits));
  }

  enqueue(key: string, priority: Priority = "high"): void {
    this.queue.add(key, priority);
  }

  enqueueAfter(key: string, delayMs: number, priority: Priority = "low"): void {
    this.queue.addAfter(key, delayMs, priority);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < Math.max(1, this.opts.workers); i++) this.workers.push(this.work());
  }

  async stop(): Promise<void> {
    this.running = false;
    this.queue.shutdown();
    await Promise.all(this.workers);
  }

  private async work(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const t0 = performance.now();
      let outcome: "success" | "error" | "requeue" = "success";
      try {
        const res = await this.opts.reconcile(splitKey(key));
        if (res?.requeue) {
          outcome = "requeue";
          this.queue.addRateLimited(key);
        } else {
          this.queue.forget(key);
          if (res?.requeueAfterMs !== undefined && res.requeueAfterMs > 0) {
            this.queue.addAfter(key, res.requeueAfterMs, "low");
          }
        }
      } catch (err) {
        outcome = "error";
        const delay = this.queue.addRateLimited(key);
        this.opts.log.error(
          {
            controller: this.name,
            key,
            err: err instanceof Error ? err.message : String(err),
            retryInMs: delay,
          },
          "reconcile failed",
        );
      } finally {
        this.queue.done(key);
        this.opts.onReconcileDone?.(this.name, outcome, (performance.now() - t0) / 1000);
      }
    }
  }
}
