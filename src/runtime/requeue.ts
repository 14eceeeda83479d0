// The floor of every computed requeue. A refresh period comes from the
// resource (VaultStaticSecret's refreshAfter, a lease or certificate TTL, a
// rotation period) and the CRD accepts anything Go's time.ParseDuration does,
// as VSO's does: "0.001s" is valid and would otherwise reconcile the resource
// hundreds of times a second. Periods are accepted as written; the requeue
// they lead to is never sooner than MIN_REQUEUE_MS, nor longer than a timer
// can wait (clampDelay).
import { clampDelay } from "../util/timers.ts";

/** The shortest time between two looks at one resource that a computed requeue may ask for. */
export const MIN_REQUEUE_MS = 1000;

/** A computed requeue delay, raised to MIN_REQUEUE_MS and kept within what a timer honours. */
export function clampRequeue(ms: number): number {
  return clampDelay(Math.max(MIN_REQUEUE_MS, ms));
}
