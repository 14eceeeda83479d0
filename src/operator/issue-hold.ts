// Holds back new credentials for inputs that already failed after Vault
// issued one. Preconditions catch most configuration errors before Vault is
// asked; the rest (a template that fails on the real data, a Secret the API
// server refuses for its content, a path that returns the wrong kind of
// credentials) only show after issuing. Retrying the same inputs would mint a
// credential per retry, so a configuration error after issuing holds the
// resource until its inputs (generation, labels and annotations, the
// transformation it references) change. The hold lives in memory: after an
// operator restart a held resource gets one more try, whose credential is
// revoked at once like the first.
import { createHash } from "node:crypto";

export class IssueHoldError extends Error {
  readonly field?: string;
  constructor(cause: Error & { field?: string }) {
    super(
      `${cause.message} (no new credentials are requested until the resource or its transformation changes)`,
    );
    this.name = "IssueHoldError";
    this.field = cause.field;
  }
}

/** A digest of everything whose change may cure a post-issue configuration error. */
export function issueInputs(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url");
}

export class IssueHolds {
  private readonly held = new Map<string, { inputs: string; err: Error & { field?: string } }>();

  hold(key: string, inputs: string, err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.held.set(key, { inputs, err: e });
  }

  /** The hold's error while the inputs are unchanged; a change lifts the hold. */
  check(key: string, inputs: string): IssueHoldError | undefined {
    const h = this.held.get(key);
    if (!h) return undefined;
    if (h.inputs !== inputs) {
      this.held.delete(key);
      return undefined;
    }
    return new IssueHoldError(h.err);
  }

  release(key: string): void {
    this.held.delete(key);
  }
}
