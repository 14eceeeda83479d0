// VaultDynamicSecret's decisions, as pure functions of the spec, the status,
// what was read from the cluster and the time: whether to issue new
// credentials (and why, in VSO's order of precedence), renew the lease, or
// wait, and when to look again. The reconciler gathers the facts, asks, and
// only then talks to Vault and Kubernetes.
import { createHash } from "node:crypto";
import type { PendingRevocation, VaultSecretLease } from "../../../api/index.ts";
import { type ParentToken, parentDeadlineMs } from "../../../vault/token-life.ts";
import { nextRevocationAt } from "../../credential-ledger.ts";
import { macEqual } from "../../hmac.ts";

export type SyncReason =
  | "InitialSync"
  | "InterruptedSync"
  | "ForceSync"
  | "ResourceUpdated"
  | "InexistentDestination"
  | "VaultClientConfigChanged"
  | "LeaseRenewalFailed"
  | "RefreshDue"
  /** The lease's parent token ends before the lease would: replaced ahead of it. */
  | "VaultTokenRotated"
  /** The lease's parent token is gone (revoked, expired), and with it the lease. */
  | "VaultTokenRevoked";

/** The shortest requeue, so that no decision can spin. */
export const MIN_LOOK_MS = 1000;

export interface DynamicFacts {
  nowMs: number;
  generation: number;
  lastGeneration: number;
  /** Labels or annotations changed since the last sync (VSO forces new credentials then). */
  metaChanged: boolean;
  destinationExists: boolean;
  clientCacheKey: string;
  lastClientCacheKey?: string;
  lease: VaultSecretLease;
  /** When the lease was last issued or renewed, in ms. */
  renewedAtMs: number;
  /** status.lastRenewalTime, which seeds the jitter. */
  lastRenewalTime: number;
  renewalPercent: number;
  refreshAfterMs: number;
  /** A sync stopped between Vault and its commit (a crash): its lease is revoked, the destination may hold it. */
  interrupted: boolean;
  /** The token the lease hangs on (status.vaultClientMeta.id), as this process knows it. */
  parent: ParentToken;
  /** The TTL of this process's token for the same VaultAuth, in ms. */
  tokenTtlMs: number;
  /** For an unknown parent: when the lease is replaced (unknownParentReplaceAtMs). */
  unknownReplaceAtMs?: number;
  /** For an unknown parent: whether the lease was seen alive (renewed) by this process. */
  unknownChecked?: boolean;
}

export type DynamicDecision =
  | { action: "issue"; reason: SyncReason }
  | { action: "renew"; reason: "RenewalDue" | "ParentTokenUnknown" }
  | { action: "wait"; reason: "LeaseValid" | "RefreshNotDue" | "NothingToRefresh"; untilMs?: number };

/** A stable number in [0, 1) for a lease, so the renewal time does not move between reconciles or restarts. */
export function leaseJitter(leaseId: string, renewedAt: number): number {
  const h = createHash("sha256").update(`${leaseId}@${renewedAt}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

/** When (ms since epoch) a lease renewed at `renewedAtMs` with `ttlS` seconds falls due. */
export function renewalDueAt(
  renewedAtMs: number,
  ttlS: number,
  renewalPercent: number,
  jitter: number,
): number {
  const pct = Math.min(90, Math.max(0, renewalPercent)) / 100;
  return renewedAtMs + ttlS * 1000 * (pct + 0.1 * jitter);
}

/** Why new credentials are needed now, if they are; VSO's precedence, with an interrupted sync first. */
export function issueReason(f: DynamicFacts): SyncReason | undefined {
  if (!f.lastGeneration) return "InitialSync";
  // A crash left credentials of unknown delivery: they are revoked, so the destination needs new ones.
  if (f.interrupted) return "InterruptedSync";
  if (f.metaChanged) return "ForceSync";
  if (f.lastGeneration !== f.generation) return "ResourceUpdated";
  if (!f.destinationExists) return "InexistentDestination";
  if (f.lastClientCacheKey && f.lastClientCacheKey !== f.clientCacheKey) return "VaultClientConfigChanged";
  return undefined;
}

/**
 * Why static credentials (allowStaticCreds) are written even if they did not
 * rotate, if they are: reading them issues nothing, so only the destination
 * and the resource matter.
 */
export function staticSyncReason(
  f: Pick<DynamicFacts, "lastGeneration" | "generation" | "metaChanged" | "destinationExists">,
): SyncReason | undefined {
  if (!f.lastGeneration) return "InitialSync";
  if (f.metaChanged) return "ForceSync";
  if (f.lastGeneration !== f.generation) return "ResourceUpdated";
  if (!f.destinationExists) return "InexistentDestination";
  return undefined;
}

/**
 * Whether static credentials just read are written, and why: they rotated
 * (their MAC differs from the last one written), or the resource needs a sync
 * anyway (`reason`), or nothing was ever written. Undefined: the destination
 * holds them already.
 */
export function staticCredsWrite(
  reason: SyncReason | undefined,
  mac: string,
  lastMAC: string | undefined,
): { write?: SyncReason | "StaticCredsRotated"; rotated: boolean } {
  const rotated = Boolean(lastMAC) && !macEqual(mac, lastMAC);
  if (rotated) return { write: "StaticCredsRotated", rotated };
  return { write: reason ?? (lastMAC ? undefined : "InitialSync"), rotated };
}

/** Rotation facts of static credentials, from the response (VaultStaticCredsMetaData). */
export interface StaticCredsMeta {
  rotationPeriod?: number;
  rotationSchedule?: string;
  /** Seconds until the next rotation; 0 while Vault is rotating. */
  ttl?: number;
}

/**
 * Milliseconds until static credentials are read again: just after the
 * scheduled rotation (`jitter` in [0, 1) spreads it over 150 ms), and no later
 * than `pollMs` (refreshAfter, default 30 s) so that on-demand rotations reach
 * the Secret too (VSO #1002). A ttl of 0 means Vault is rotating right now:
 * look again in a second.
 */
export function staticCredsNextLookMs(meta: StaticCredsMeta, pollMs: number, jitter: number): number {
  const rotating = (meta.rotationPeriod ?? 0) > 0 || (meta.rotationSchedule ?? "") !== "";
  const ttl = meta.ttl ?? 0;
  const untilRotation = !rotating
    ? Number.POSITIVE_INFINITY
    : ttl > 0
      ? ttl * 1000 + 500 + jitter * 150
      : MIN_LOOK_MS;
  return Math.max(500, Math.min(untilRotation, pollMs));
}

/**
 * Whether the lease's parent token forces new credentials now: it is gone, or
 * it ends before the lease would and its replacement time has come. Otherwise
 * the time by which that will be so, if any.
 */
export function parentTokenDecision(
  f: Pick<DynamicFacts, "nowMs" | "parent" | "tokenTtlMs" | "unknownReplaceAtMs">,
): { reason: "VaultTokenRotated" | "VaultTokenRevoked" } | { untilMs?: number } {
  if (f.parent.state === "retired" && f.parent.endsAtMs <= f.nowMs) return { reason: "VaultTokenRevoked" };
  const deadline = parentDeadlineMs(f.parent, f.tokenTtlMs, f.unknownReplaceAtMs ?? f.nowMs);
  if (deadline === undefined) return {};
  if (f.nowMs >= deadline) return { reason: "VaultTokenRotated" };
  return { untilMs: deadline };
}

export function decideDynamic(f: DynamicFacts): DynamicDecision {
  const reason = issueReason(f);
  if (reason) return { action: "issue", reason };
  const ttl = f.lease.duration ?? 0;
  if (f.lease.id && ttl > 0) {
    const parent = parentTokenDecision(f);
    if ("reason" in parent) return { action: "issue", reason: parent.reason };
    // A lease under a token of another process: first make sure it is still alive.
    if (f.parent.state === "unknown" && !f.unknownChecked) {
      return f.lease.renewable
        ? { action: "renew", reason: "ParentTokenUnknown" }
        : { action: "issue", reason: "VaultTokenRotated" };
    }
    const due = renewalDueAt(
      f.renewedAtMs,
      ttl,
      f.renewalPercent,
      leaseJitter(f.lease.id, f.lastRenewalTime),
    );
    if (f.nowMs < due) {
      return { action: "wait", reason: "LeaseValid", untilMs: Math.min(due, parent.untilMs ?? due) };
    }
    if (f.lease.renewable) return { action: "renew", reason: "RenewalDue" };
    return { action: "issue", reason: "LeaseRenewalFailed" };
  }
  if (f.refreshAfterMs <= 0) return { action: "wait", reason: "NothingToRefresh" };
  const due = f.renewedAtMs + f.refreshAfterMs;
  if (f.nowMs < due) return { action: "wait", reason: "RefreshNotDue", untilMs: due };
  return { action: "issue", reason: "RefreshDue" };
}

/**
 * Milliseconds until the next look: the decision's own time and the next
 * pending revocation, whichever comes first, never sooner than MIN_LOOK_MS.
 */
export function nextLookMs(
  nowMs: number,
  untilMs: number | undefined,
  pending: PendingRevocation[] | undefined,
) {
  const revokeAt = nextRevocationAt(pending);
  const times = [untilMs, revokeAt === undefined ? undefined : revokeAt * 1000].filter(
    (t): t is number => t !== undefined,
  );
  if (times.length === 0) return undefined;
  return Math.max(MIN_LOOK_MS, Math.min(...times) - nowMs);
}

/**
 * Static credentials come without a lease; a response that carries one means
 * the path is a dynamic role and allowStaticCreds is set by mistake. Reading
 * it again would mint a new lease every poll, so this is refused.
 */
export function staticCredsMismatch(
  allowStaticCreds: boolean,
  leaseId: string | undefined,
): string | undefined {
  if (!allowStaticCreds || !leaseId) return undefined;
  return (
    "the path returned dynamic credentials with a lease, but spec.allowStaticCreds is true; " +
    "the lease was revoked and the Secret left unchanged: set spec.allowStaticCreds to false for a dynamic role"
  );
}
