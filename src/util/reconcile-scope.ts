// The deadline of the reconcile a piece of code runs in, without passing it
// through every call: the controller runs each reconcile in a scope
// (AsyncLocalStorage) holding an AbortSignal that fires at its deadline, and
// the Vault and Kubernetes clients add that signal to every request they send
// from inside it. A hung call therefore ends at the deadline and frees its
// worker; the controller also stops waiting then, whatever the code does.
// Timers created inside a reconcile (a token's renewal) outlive it: once the
// reconcile has ended its scope no longer lends them its signal.
import { AsyncLocalStorage } from "node:async_hooks";

interface Scope {
  signal: AbortSignal;
  active: boolean;
}

const scope = new AsyncLocalStorage<Scope>();

export class ReconcileDeadlineError extends Error {
  constructor(ms: number) {
    super(`reconcile deadline of ${ms / 1000}s exceeded; its requests were aborted`);
    this.name = "ReconcileDeadlineError";
  }
}

/** The running reconcile's deadline signal, if code runs inside one that has not ended. */
export function currentReconcileSignal(): AbortSignal | undefined {
  const s = scope.getStore();
  return s?.active ? s.signal : undefined;
}

/** `own` combined with the running reconcile's deadline, if any. */
export function withReconcileSignal(own: AbortSignal | undefined): AbortSignal | undefined {
  const r = currentReconcileSignal();
  if (!r) return own;
  return own ? AbortSignal.any([own, r]) : r;
}

/** Runs `fn` within a deadline: its requests are aborted then, and the returned promise rejects. */
export async function withReconcileDeadline<T>(
  ms: number,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const ac = new AbortController();
  const s: Scope = { signal: ac.signal, active: true };
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new ReconcileDeadlineError(ms);
      ac.abort(err);
      reject(err);
    }, ms);
    timer.unref();
  });
  try {
    return await Promise.race([scope.run(s, () => fn(ac.signal)), expired]);
  } finally {
    clearTimeout(timer);
    s.active = false;
  }
}
