// Holds back new credentials for inputs that already failed after Vault
// issued one. Preconditions catch most configuration errors before Vault is
// asked; the rest (a template that fails on the real data, a Secret the API
// server refuses for its content, a path that returns the wrong kind of
// credentials) only show after issuing. Retrying the same inputs would mint a
// credential per retry, so a configuration error after issuing holds the
// resource until its inputs (generation, labels and annotations, the
// transformation it references) change.
// The hold is durable: it is a status condition (IssueHold) carrying a digest
// of the failed inputs, committed with the revocation of the credential, so an
// operator restart or a new leader honours it too instead of trying once more.
// The functions here are pure: they read and return conditions.
import { createHash } from "node:crypto";
import { type Condition, getCondition, setCondition } from "../runtime/conditions.ts";

export const ISSUE_HOLD_CONDITION = "IssueHold";
const HOLD_REASON = "FailedAfterIssue";

export class IssueHoldError extends Error {
  readonly field?: string;
  constructor(message: string, field: string | undefined) {
    super(`${message} (no new credentials are requested until the resource or its transformation changes)`);
    this.name = "IssueHoldError";
    this.field = field;
  }
}

/** A digest of everything whose change may cure a post-issue configuration error. */
export function issueInputs(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url");
}

const MESSAGE = /^held for inputs ([\w-]+), field (\S*): ([\s\S]*)$/;

/** The conditions with a hold on `inputs` for `err` (its message is already free of secret values). */
export function holdIssue(
  conditions: Condition[] | undefined,
  inputs: string,
  err: unknown,
  generation?: number,
) {
  const cause = err instanceof Error ? err : new Error(String(err));
  const field = (cause as { field?: string }).field ?? "";
  return setCondition(conditions, {
    type: ISSUE_HOLD_CONDITION,
    status: "True",
    reason: HOLD_REASON,
    message: `held for inputs ${inputs}, field ${field}: ${cause.message}`,
    observedGeneration: generation,
  });
}

/** The conditions without a hold. */
export function releaseHold(conditions: Condition[] | undefined): Condition[] | undefined {
  if (!getCondition(conditions, ISSUE_HOLD_CONDITION)) return conditions;
  return (conditions ?? []).filter((c) => c.type !== ISSUE_HOLD_CONDITION);
}

/**
 * Whether the recorded hold still applies to `inputs`: the hold's error while
 * they are unchanged, undefined when there is no hold or the inputs changed
 * (the caller then lifts it with releaseHold).
 */
export function heldIssue(conditions: Condition[] | undefined, inputs: string): IssueHoldError | undefined {
  const c = getCondition(conditions, ISSUE_HOLD_CONDITION);
  const m = c?.status === "True" ? MESSAGE.exec(c.message) : null;
  if (!m || m[1] !== inputs) return undefined;
  return new IssueHoldError(m[3], m[2] || undefined);
}
