// VaultStaticSecret's decisions, as pure functions of the spec, the status,
// the data just read from Vault (by its MAC), what was found at the
// destination and the time: whether to write the destination (and why),
// whether workloads restart, and when to read Vault again. Reading a KV
// secret issues nothing, so the only question is whether to write.
import type { VaultStaticSecret } from "../../../api/index.ts";
import { clampRequeue } from "../../../runtime/requeue.ts";
import { parseDuration } from "../../../util/duration.ts";
import { jitteredRefresh } from "../../backoff.ts";
import { macEqual } from "../../hmac.ts";

/** Without refreshAfter, a resource with HMAC on is checked every minute (VSO's default). */
export const DEFAULT_HMAC_REFRESH_MS = 60_000;

/** The live destination compared with what this resource last wrote. */
export type DestinationState = "current" | "missing" | "drifted";

export interface StaticFacts {
  /** spec.hmacSecretData (on unless false). */
  hmacOn: boolean;
  generation: number;
  lastGeneration: number;
  /** MAC of the data just built from Vault. */
  mac: string;
  /** status.secretMAC: MAC of the data last written. */
  lastMAC?: string;
  destination: DestinationState;
}

export type StaticWriteReason =
  | "HMACDisabled"
  | "InitialSync"
  | "DataChanged"
  | "ResourceUpdated"
  | "InexistentDestination"
  | "SecretDataDrift";

export type StaticDecision =
  | { action: "write"; reason: StaticWriteReason; restart: boolean }
  | { action: "skip"; reason: "SecretCurrent" };

/**
 * Whether the destination gets the data, and why. Without HMAC nothing tells
 * a write apart from a no-op, so every read is written (as VSO does). Workloads
 * restart only when Vault's data changed after a first sync.
 */
export function decideStaticWrite(f: StaticFacts): StaticDecision {
  if (!f.hmacOn) return { action: "write", reason: "HMACDisabled", restart: false };
  if (!f.lastMAC) return { action: "write", reason: "InitialSync", restart: false };
  if (!macEqual(f.mac, f.lastMAC)) return { action: "write", reason: "DataChanged", restart: true };
  if (f.lastGeneration !== f.generation)
    return { action: "write", reason: "ResourceUpdated", restart: false };
  if (f.destination === "missing")
    return { action: "write", reason: "InexistentDestination", restart: false };
  if (f.destination === "drifted") return { action: "write", reason: "SecretDataDrift", restart: false };
  return { action: "skip", reason: "SecretCurrent" };
}

/** How often Vault is read again: spec.refreshAfter, else every minute with HMAC on, else never. */
export function staticRefreshMs(
  spec: Pick<VaultStaticSecret["spec"], "refreshAfter" | "hmacSecretData">,
): number {
  if (spec.refreshAfter) return parseDuration(spec.refreshAfter);
  return spec.hmacSecretData !== false ? DEFAULT_HMAC_REFRESH_MS : 0;
}

/**
 * Milliseconds until the next read, at 80-90 % of the refresh period (VSO's
 * jitter; `random` in [0, 1) is injected) and never sooner than the requeue
 * floor (a refreshAfter of "0.001s" is accepted, as VSO accepts it, and read
 * once a second), or undefined for none.
 */
export function staticNextLookMs(
  spec: Pick<VaultStaticSecret["spec"], "refreshAfter" | "hmacSecretData">,
  random: number,
): number | undefined {
  const ms = staticRefreshMs(spec);
  return ms > 0 ? clampRequeue(jitteredRefresh(ms, random)) : undefined;
}

/** The KV API path and query for a read: KV v2 reads <mount>/data/<path>, optionally a pinned version. */
export function kvReadPath(spec: Pick<VaultStaticSecret["spec"], "type" | "mount" | "path" | "version">): {
  path: string;
  query?: Record<string, string>;
} {
  const mount = spec.mount.replace(/^\/+|\/+$/g, "");
  const path = spec.path.replace(/^\/+/, "");
  if (spec.type !== "kv-v2") return { path: `${mount}/${path}` };
  return {
    path: `${mount}/data/${path}`,
    query: spec.version ? { version: String(spec.version) } : undefined,
  };
}
