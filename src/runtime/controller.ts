// A controller: a work queue fed by informers and served by N workers, each
// calling the kind's reconciler with a "namespace/name" key. A reconciler never
// sleeps: it returns when to look again, or how it failed, and the queue
// decides the retry:
// - a transient failure the reconciler reports (`failure: "transient"`, or a
//   thrown TransientError; e.g. Vault unreachable) is retried with VSO's per-key exponential backoff (the
//   --backoff-* flags), and no more once --backoff-max-elapsed-time has passed;
// - an unexpected thrown error is retried with the queue's rate limiter
//   (client-go's, from 5 ms), as controller-runtime does;
// - a configuration failure (a thrown ConfigurationError, or `failure:
//   "configuration"`) is not retried: it waits for a change of the resource
//   (or of what it references), which enqueues it again. A reconciler that
//   must notice a change it cannot watch may still ask for a recheck with
//   requeueAfterMs.
// Every reconcile runs within a deadline (2 min): its Vault and Kubernetes
// requests are aborted then and it counts as a transient failure, so one hung
// call cannot hold a worker.
// A requeueAfterMs is never honoured sooner than the requeue floor (1 s,
// requeue.ts), whichever kind or computation asked for it.
// Outcomes are reported with controller-runtime's result labels.
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { ReconcileDeadlineError, withReconcileDeadline } from "../util/reconcile-scope.ts";
import { type BackoffPolicy, ExponentialBackoff } from "./backoff.ts";
import { ConfigurationError, TransientError } from "./errors.ts";
import { clampRequeue } from "./requeue.ts";
import {
  type Priority,
  type QueueObserver,
  RateLimiter,
  type RateLimiterOptions,
  WorkQueue,
} from "./workqueue.ts";

export interface ReconcileResult {
  /** Look at this object again after this many milliseconds (a periodic refresh, or a recheck); at least MIN_REQUEUE_MS. */
  requeueAfterMs?: number;
  /** Retry with the queue's rate limiter without counting as an error (e.g. waiting on a dependency). */
  requeue?: boolean;
  /** The reconcile failed (and recorded why in the resource's status); the queue owns the retry. */
  failure?: "configuration" | "transient";
}

/**
 * What one reconcile gets besides its key: a logger carrying the controller,
 * the resource and a reconcile ID (controller-runtime's keys), so every line
 * of one pass can be followed.
 */
export interface ReconcileContext {
  log: Logger;
  reconcileID: string;
  /** Fires at the reconcile's deadline; the Vault and Kubernetes clients already honour it. */
  signal?: AbortSignal;
}

export type Reconciler = (
  key: { namespace: string; name: string },
  rc: ReconcileContext,
) => Promise<ReconcileResult | undefined>;

/** controller-runtime's `result` label of controller_runtime_reconcile_total. */
export type ReconcileOutcome = "success" | "error" | "requeue" | "requeue_after";

export interface ControllerOptions {
  name: string;
  reconcile: Reconciler;
  workers: number;
  log: Logger;
  rateLimits?: Partial<RateLimiterOptions>;
  /** Backoff of transient failures (the --backoff-* flags). */
  backoff?: Partial<BackoffPolicy>;
  onReconcileDone?: (name: string, outcome: ReconcileOutcome, seconds: number) => void;
  /** Receives the work queue's adds, waits and retries (the workqueue_* metrics). */
  queueObserver?: QueueObserver;
  /** How long one reconcile may take before its requests are aborted and it counts as failed. */
  reconcileDeadlineMs?: number;
}

/** The default deadline of one reconcile: far above any healthy one, below any stuck one's cost. */
export const RECONCILE_DEADLINE_MS = 120_000;

export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf("/");
  return i < 0 ? { namespace: "", name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  readonly backoff: ExponentialBackoff;
  readonly opts: ControllerOptions;
  private workers: Promise<void>[] = [];
  private running = false;

  constructor(opts: ControllerOptions) {
    this.opts = opts;
    this.name = opts.name;
    this.queue = new WorkQueue(new RateLimiter(opts.rateLimits), opts.queueObserver);
    this.backoff = new ExponentialBackoff(opts.backoff);
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
      let outcome: ReconcileOutcome = "success";
      const { namespace, name } = splitKey(key);
      const reconcileID = randomUUID();
      const log = this.opts.log.child({ controller: this.name, namespace, name, reconcileID });
      try {
        const res = await withReconcileDeadline(
          this.opts.reconcileDeadlineMs ?? RECONCILE_DEADLINE_MS,
          (signal) => this.opts.reconcile({ namespace, name }, { log, reconcileID, signal }),
        );
        outcome = this.settle(key, res ?? {}, log);
      } catch (err) {
        outcome = this.failed(key, err, log);
      } finally {
        this.queue.done(key);
        this.opts.onReconcileDone?.(this.name, outcome, (performance.now() - t0) / 1000);
      }
    }
  }

  /** A reconcile that threw: terminal for a ConfigurationError, backoff for a TransientError, else rate-limited. */
  private failed(key: string, err: unknown, log: Logger): ReconcileOutcome {
    this.backoff.reset(key);
    if (err instanceof ConfigurationError) {
      this.queue.forget(key);
      log.error(
        { err: message(err) },
        "reconcile failed on the resource's configuration: waiting for a change",
      );
      return "error";
    }
    if (err instanceof TransientError || err instanceof ReconcileDeadlineError) {
      log.error({ err }, "reconcile failed");
      return this.settle(key, { failure: "transient" }, log);
    }
    const delay = this.queue.addRateLimited(key);
    // An unexpected error: its stack is kept (pino's err serializer) to find the bug.
    log.error({ err, retryInMs: delay }, "reconcile failed");
    return "error";
  }

  /** Schedules what comes after one reconcile of `key` and names its outcome. */
  private settle(key: string, res: ReconcileResult, log: Logger): ReconcileOutcome {
    // Every kind's computed requeue passes the one floor here (requeue.ts), whatever computed it.
    const recheck =
      res.requeueAfterMs !== undefined && res.requeueAfterMs > 0 ? clampRequeue(res.requeueAfterMs) : 0;
    if (res.failure === "transient") {
      this.queue.forget(key);
      const delay = this.backoff.next(key);
      if (delay === undefined) {
        log.warn(
          "reconcile failing for longer than --backoff-max-elapsed-time: not retrying until the resource changes",
        );
      }
      // A recheck the reconciler still needs (say, a revocation that falls due) comes first when it is sooner.
      const at = delay === undefined ? recheck : recheck > 0 ? Math.min(delay, recheck) : delay;
      if (at > 0) this.queue.addAfter(key, at, "high");
      return "error";
    }
    this.backoff.reset(key);
    if (res.failure === "configuration") {
      this.queue.forget(key);
      if (recheck > 0) this.queue.addAfter(key, recheck, "low");
      return "error";
    }
    if (res.requeue) {
      this.queue.addRateLimited(key);
      return "requeue";
    }
    this.queue.forget(key);
    if (recheck > 0) {
      this.queue.addAfter(key, recheck, "low");
      return "requeue_after";
    }
    return "success";
  }
}
