// The durable record of credentials a resource obtained from Vault and still
// has to revoke (status.pendingRevocations). Every lease or certificate is
// entered here the moment Vault hands it out, before any later step can fail,
// and leaves only when it is current (delivered and committed) or revoked. So
// a failed write, an operator restart, a leader change or a deletion can never
// lose one. The functions here are pure; applyRevocations runs the effects.
import type { Logger } from "pino";
import type { PendingRevocation } from "../api/index.ts";
import type { KubeObject } from "../kube/client.ts";
import type { EventRecorder } from "../runtime/events.ts";
import { VaultApiError } from "../vault/http.ts";
import { errorMessage } from "./context.ts";

export type PendingReason = PendingRevocation["reason"];

function without(list: PendingRevocation[] | undefined, id: string): PendingRevocation[] {
  return (list ?? []).filter((e) => e.id !== id);
}

/** A credential just obtained, not yet delivered: if nothing confirms it, the next look revokes it. */
export function recordIssued(list: PendingRevocation[] | undefined, id: string, nowS: number) {
  return [...without(list, id), { id, reason: "Issued" as const, revokeAfter: nowS }];
}

/** A credential that will never be delivered (a later step failed): revoke at once. */
export function recordUnused(list: PendingRevocation[] | undefined, id: string, nowS: number) {
  return [...without(list, id), { id, reason: "Unused" as const, revokeAfter: nowS }];
}

/** The credential reached the destination and is now the current one. */
export function confirmDelivered(list: PendingRevocation[] | undefined, id: string) {
  return without(list, id);
}

/**
 * A credential superseded by a newer one: workloads may still use it until
 * their rollout restart, so it is revoked after a grace period. One that
 * expires within the grace period stays recorded too, due just before its end
 * (so a deletion right after a rotation still revokes it); only one already
 * expired is let go.
 */
export function recordReplaced(
  list: PendingRevocation[] | undefined,
  id: string,
  nowS: number,
  graceS: number,
  expiresAtS?: number,
): PendingRevocation[] {
  let revokeAfter = nowS + graceS;
  if (expiresAtS !== undefined && expiresAtS > 0) {
    if (expiresAtS <= nowS) return without(list, id);
    revokeAfter = Math.min(revokeAfter, Math.max(nowS, expiresAtS - 2));
  }
  return [...without(list, id), { id, reason: "Replaced" as const, revokeAfter }];
}

/** Entries whose revocation time has come (all of them when the resource is being deleted). */
export function dueRevocations(
  list: PendingRevocation[] | undefined,
  nowS: number,
  all = false,
): PendingRevocation[] {
  return (list ?? []).filter((e) => all || e.revokeAfter <= nowS);
}

/** Unix seconds of the earliest revocation still to come, if any. */
export function nextRevocationAt(list: PendingRevocation[] | undefined): number | undefined {
  const times = (list ?? []).map((e) => e.revokeAfter);
  return times.length > 0 ? Math.min(...times) : undefined;
}

/**
 * Entries left "Issued" by a sync that stopped between Vault and its status
 * commit (a crash): the destination may hold them, and they are about to be
 * revoked, so the resource needs new credentials.
 */
export function interruptedIssue(list: PendingRevocation[] | undefined): boolean {
  return (list ?? []).some((e) => e.reason === "Issued");
}

/** Vault refused the revocation for good (unknown id, no permission): retrying will not help. */
export function permanentRefusal(err: unknown): boolean {
  return (
    err instanceof VaultApiError &&
    err.status >= 400 &&
    err.status < 500 &&
    ![408, 412, 429].includes(err.status)
  );
}

export interface RevocationOutcome {
  /** The list without the entries that were revoked or refused for good. */
  remaining: PendingRevocation[];
  revoked: PendingRevocation[];
  refused: { entry: PendingRevocation; err: unknown }[];
  /** A transient failure (Vault unreachable): the entry stays and is retried. */
  failed: { entry: PendingRevocation; err: unknown }[];
}

/** Revokes `due` one by one through `revoke`, and says what is left to do. */
export async function applyRevocations(
  list: PendingRevocation[] | undefined,
  due: PendingRevocation[],
  revoke: (id: string) => Promise<void>,
): Promise<RevocationOutcome> {
  const out: RevocationOutcome = { remaining: [...(list ?? [])], revoked: [], refused: [], failed: [] };
  for (const entry of due) {
    try {
      await revoke(entry.id);
      out.revoked.push(entry);
    } catch (err) {
      if (permanentRefusal(err)) out.refused.push({ entry, err });
      else {
        out.failed.push({ entry, err });
        continue;
      }
    }
    out.remaining = without(out.remaining, entry.id);
  }
  return out;
}

/** How a kind names what it revokes in its Events. */
export interface RevocationEvents {
  noun: string;
  revokedReason: string;
  failedReason: string;
}

/**
 * Revokes the due entries and reports each outcome as an Event on `obj`; the
 * caller commits `remaining`. Undefined when nothing was due. `ok` says
 * whether nothing failed for a reason a retry could cure.
 */
export async function revokeAndReport(
  obj: KubeObject,
  rec: EventRecorder,
  words: RevocationEvents,
  list: PendingRevocation[] | undefined,
  due: PendingRevocation[],
  revoke: (id: string) => Promise<void>,
  log?: Logger,
): Promise<{ remaining: PendingRevocation[]; ok: boolean } | undefined> {
  if (due.length === 0) return undefined;
  const out = await applyRevocations(list, due, revoke);
  for (const e of out.revoked) {
    rec.normal(obj, words.revokedReason, `Revoked ${words.noun} ${e.id}`);
    log?.info({ id: e.id, reason: e.reason }, `${words.noun} revoked`);
  }
  for (const { entry, err } of [...out.refused, ...out.failed]) {
    rec.warning(obj, words.failedReason, `Could not revoke ${words.noun} ${entry.id}: ${errorMessage(err)}`);
    log?.error(
      { id: entry.id, reason: entry.reason, err: errorMessage(err) },
      `${words.noun} revocation failed`,
    );
  }
  return { remaining: out.remaining, ok: out.failed.length === 0 };
}
