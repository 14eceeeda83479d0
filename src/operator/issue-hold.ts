// Holds back new credentials for inputs that already failed after Vault
// issued one. Preconditions catch most configuration errors before Vault is
// asked; the rest (a template that fails on the real data, a Secret the API
// server refuses for its content, a path that returns the wrong kind of
// credentials) only show after issuing. Retrying the same inputs would mint a
// credential per retry, so a configuration error after issuing holds the
// resource until its inputs (generation, labels and annotations, the
// transformation it references) change.
// The hold is durable state, kept where state belongs: a typed status field
// of ours, status.issueHold {digest, reason, field, since}, committed with
// the revocation of the credential, so an operator restart or a new leader
// honours it too instead of trying once more. The IssueHold condition says
// the same for humans and is never parsed, except that a hold written by the
// previous release (only the condition, its message "held for inputs
// <digest>, field <field>: <reason>") is still honoured, for one release.
// The functions here work on a status alone: they read it, or change the
// status they are given in place (no API call, no clock but the one passed).
import { createHash } from "node:crypto";
import type { IssueHold } from "../api/index.ts";
import { type Condition, getCondition, setCondition } from "../runtime/conditions.ts";

export const ISSUE_HOLD_CONDITION = "IssueHold";
const HOLD_REASON = "FailedAfterIssue";
const NO_NEW_CREDENTIALS =
  "no new credentials are requested until the resource or its transformation changes";

/** The part of a status an issue hold lives in (VaultDynamicSecret's and VaultPKISecret's). */
export interface HoldStatus {
  issueHold?: IssueHold;
  conditions?: Condition[];
}

export class IssueHoldError extends Error {
  readonly field?: string;
  constructor(message: string, field: string | undefined) {
    super(`${message} (${NO_NEW_CREDENTIALS})`);
    this.name = "IssueHoldError";
    this.field = field;
  }
}

/** A digest of everything whose change may cure a post-issue configuration error. */
export function issueInputs(parts: unknown): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url");
}

function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * Holds `inputs` for `err` (its message is already free of secret values):
 * sets status.issueHold and the IssueHold condition of `status`.
 */
export function holdIssue(
  status: HoldStatus,
  inputs: string,
  err: unknown,
  generation: number | undefined,
  now = new Date(),
): void {
  const cause = err instanceof Error ? err : new Error(String(err));
  const field = (cause as { field?: string }).field || undefined;
  const reason = cause.message;
  const same = status.issueHold?.digest === inputs && status.issueHold.reason === reason;
  status.issueHold = {
    digest: inputs,
    reason,
    ...(field ? { field } : {}),
    since: same && status.issueHold ? status.issueHold.since : rfc3339(now),
  };
  status.conditions = setCondition(
    status.conditions,
    {
      type: ISSUE_HOLD_CONDITION,
      status: "True",
      reason: HOLD_REASON,
      message: `${field ? `${field}: ` : ""}${reason} (${NO_NEW_CREDENTIALS})`,
      observedGeneration: generation,
    },
    now,
  );
}

/** Lifts the hold: status.issueHold and the IssueHold condition are removed from `status`. */
export function releaseHold(status: HoldStatus): void {
  if (status.issueHold !== undefined) delete status.issueHold;
  if (getCondition(status.conditions, ISSUE_HOLD_CONDITION)) {
    status.conditions = (status.conditions ?? []).filter((c) => c.type !== ISSUE_HOLD_CONDITION);
  }
}

/** The previous release's hold: only a condition, its state in the message. Read for one release. */
const LEGACY_MESSAGE = /^held for inputs ([\w-]+), field (\S*): ([\s\S]*)$/;

function legacyHold(conditions: Condition[] | undefined): IssueHold | undefined {
  const c = getCondition(conditions, ISSUE_HOLD_CONDITION);
  const m = c?.status === "True" ? LEGACY_MESSAGE.exec(c.message) : null;
  if (!m) return undefined;
  return { digest: m[1], reason: m[3], ...(m[2] ? { field: m[2] } : {}), since: c?.lastTransitionTime ?? "" };
}

/** The hold recorded in `status`: the typed field, else a hold written by the previous release. */
export function currentHold(status: HoldStatus | undefined): IssueHold | undefined {
  return status?.issueHold ?? legacyHold(status?.conditions);
}

/**
 * Whether the recorded hold still applies to `inputs`: the hold's error while
 * they are unchanged, undefined when there is no hold or the inputs changed
 * (the caller then lifts it with releaseHold).
 */
export function heldIssue(status: HoldStatus | undefined, inputs: string): IssueHoldError | undefined {
  const hold = currentHold(status);
  if (!hold || hold.digest !== inputs) return undefined;
  return new IssueHoldError(hold.reason, hold.field);
}
