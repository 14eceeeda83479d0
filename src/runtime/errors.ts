// The two kinds of failure a reconcile can end with. The work queue treats
// them differently (see controller.ts): a configuration error cannot succeed
// until someone changes the resource, so it is not retried with backoff; a
// transient error (Vault or the API server unreachable, a conflict) is
// retried with the queue's per-key exponential backoff.

/** The resource (or something it references) is wrong; retrying the same spec cannot help. */
export class ConfigurationError extends Error {
  /** The spec field at fault, when known, e.g. "spec.path". */
  readonly field?: string;
  constructor(message: string, field?: string) {
    super(message);
    this.name = "ConfigurationError";
    this.field = field;
  }
}

/** Something outside the resource failed; the same spec may succeed later. */
export class TransientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TransientError";
  }
}
