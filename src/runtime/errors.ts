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

/**
 * The messages of an error's causes, outermost first ("connect ECONNREFUSED
 * 127.0.0.1:6443"), for log lines whose level shows only the error's own
 * message; undefined when it has none.
 */
export function causeChain(err: unknown): string | undefined {
  const parts: string[] = [];
  let c = (err as { cause?: unknown } | null | undefined)?.cause;
  for (let depth = 0; c !== undefined && c !== null && depth < 5; depth++) {
    const code = (c as { code?: unknown }).code;
    const msg = c instanceof Error ? c.message : String(c);
    parts.push(typeof code === "string" && !msg.includes(code) ? `${code}: ${msg}` : msg);
    c = (c as { cause?: unknown }).cause;
  }
  return parts.length > 0 ? parts.join(": ") : undefined;
}
