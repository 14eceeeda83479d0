// A persisted Vault client-cache entry, in VSO's format so that a token stored
// by either operator is taken over by the other: the JSON of the Vault login
// response (`auth.client_token`, `auth.accessor`, `auth.lease_duration`,
// `auth.renewable`, ...), as VSO stores its `api.Secret`. What VSO does not
// store (the login path, the Vault namespace, when the token was issued) is
// known again at restore from the live objects and from lookup-self. Entries
// in vso-ts's earlier format (`{"version": 1, ...}`) are still read, for one
// release. Also the pure decisions: whether a session is worth persisting,
// and whether a restored token may be used, given what lookup-self says.
// Errors raised here describe the problem, never the entry's content.

/** vso-ts's format before it wrote VSO's (read only, for one release). */
const LEGACY_ENTRY_VERSION = 1;

/** `auth` of a Vault login response (Go's api.SecretAuth): what VSO stores and reads. */
export interface LoginAuth {
  client_token: string;
  accessor: string;
  policies: string[] | null;
  token_policies: string[] | null;
  identity_policies: string[] | null;
  metadata: Record<string, string> | null;
  orphan: boolean;
  entity_id: string;
  lease_duration: number;
  renewable: boolean;
  mfa_requirement: unknown;
}

/** A Vault login response as VSO persists it (Go's api.Secret). */
export interface LoginResponse {
  request_id: string;
  lease_id: string;
  lease_duration: number;
  renewable: boolean;
  data: Record<string, unknown> | null;
  warnings: string[] | null;
  auth: LoginAuth;
}

/** What restoring needs from an entry, whichever format it was written in. */
export interface PersistedSession {
  token: string;
  accessor: string;
  renewable: boolean;
  /** TTL granted at login, in seconds: the increment asked for on each renewal. */
  ttlS: number;
  /** The login path the entry was written for (earlier vso-ts format only; VSO's does not say). */
  authPath?: string;
  /** The login response to keep for this session (written again unchanged). */
  response: LoginResponse;
}

export class CacheEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CacheEntryError";
  }
}

/** Only renewable tokens with a TTL are persisted: others could not outlive the process usefully. */
export function shouldPersist(session: { renewable: boolean; leaseDurationS: number }): boolean {
  return session.renewable && session.leaseDurationS > 0;
}

export function loginPath(mount: string): string {
  return `auth/${mount.replace(/^\/+|\/+$/g, "")}/login`;
}

const strings = (x: unknown): string[] | null =>
  Array.isArray(x) && x.every((s) => typeof s === "string") ? x : null;

const stringMap = (x: unknown): Record<string, string> | null =>
  x && typeof x === "object" && Object.values(x).every((v) => typeof v === "string")
    ? (x as Record<string, string>)
    : null;

/**
 * The login response in the shape Go's api.Secret marshals to (every field
 * present, nulls for what Vault left out), from what Vault returned, or built
 * from the token's essentials when there is no response (a session restored
 * from the earlier format).
 */
export function loginResponse(
  response: object | undefined,
  essentials: { token: string; accessor: string; renewable: boolean; ttlS: number },
): LoginResponse {
  const raw = response as Record<string, unknown> | undefined;
  const a = (raw?.auth && typeof raw.auth === "object" ? raw.auth : {}) as Record<string, unknown>;
  return {
    request_id: typeof raw?.request_id === "string" ? raw.request_id : "",
    lease_id: typeof raw?.lease_id === "string" ? raw.lease_id : "",
    lease_duration: typeof raw?.lease_duration === "number" ? raw.lease_duration : 0,
    renewable: raw?.renewable === true,
    data: raw?.data && typeof raw.data === "object" ? (raw.data as Record<string, unknown>) : null,
    warnings: strings(raw?.warnings),
    auth: {
      client_token: essentials.token,
      accessor: essentials.accessor,
      policies: strings(a.policies),
      token_policies: strings(a.token_policies),
      identity_policies: strings(a.identity_policies),
      metadata: stringMap(a.metadata),
      orphan: a.orphan === true,
      entity_id: typeof a.entity_id === "string" ? a.entity_id : "",
      lease_duration: essentials.ttlS,
      renewable: essentials.renewable,
      mfa_requirement: a.mfa_requirement ?? null,
    },
  };
}

export function encodeEntry(response: LoginResponse): Buffer {
  return Buffer.from(JSON.stringify(response), "utf8");
}

const nonEmpty = (x: unknown): x is string => typeof x === "string" && x.length > 0;
const seconds = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x) && x >= 0;

/** An entry in VSO's format (a login response), or in vso-ts's earlier one. */
export function decodeEntry(bytes: Buffer, expectedCacheKey: string): PersistedSession {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new CacheEntryError("entry is not valid JSON");
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new CacheEntryError("entry is not an object");
  const o = v as Record<string, unknown>;
  if ("version" in o) return decodeLegacy(o, expectedCacheKey);
  const a = o.auth as Record<string, unknown> | null | undefined;
  if (!a || typeof a !== "object") throw new CacheEntryError("entry is not a Vault login response (no auth)");
  if (!nonEmpty(a.client_token) || !nonEmpty(a.accessor)) {
    throw new CacheEntryError("entry lacks auth.client_token or auth.accessor");
  }
  if (!seconds(a.lease_duration) || typeof a.renewable !== "boolean") {
    throw new CacheEntryError("entry lacks auth.lease_duration or auth.renewable");
  }
  const essentials = {
    token: a.client_token,
    accessor: a.accessor,
    renewable: a.renewable,
    ttlS: a.lease_duration,
  };
  return { ...essentials, response: loginResponse(o, essentials) };
}

function decodeLegacy(e: Record<string, unknown>, expectedCacheKey: string): PersistedSession {
  if (e.version !== LEGACY_ENTRY_VERSION)
    throw new CacheEntryError(`unsupported entry version ${String(e.version)}`);
  if (!nonEmpty(e.token) || !nonEmpty(e.accessor) || !nonEmpty(e.cacheKey) || !nonEmpty(e.authPath)) {
    throw new CacheEntryError("entry lacks token, accessor, cacheKey or authPath");
  }
  if (!seconds(e.ttlS) || !seconds(e.issuedAtMs) || typeof e.renewable !== "boolean") {
    throw new CacheEntryError("entry lacks ttlS, issuedAtMs or renewable");
  }
  if (e.cacheKey !== expectedCacheKey) throw new CacheEntryError("entry belongs to another cache key");
  const essentials = { token: e.token, accessor: e.accessor, renewable: e.renewable, ttlS: e.ttlS };
  return { ...essentials, authPath: e.authPath, response: loginResponse(undefined, essentials) };
}

/** What `auth/token/lookup-self` returns (its `data`), as far as restoring is concerned. */
export interface TokenLookup {
  accessor?: string;
  path?: string;
  ttl?: number;
  expire_time?: string | null;
  renewable?: boolean;
  meta?: Record<string, string> | null;
}

/** What the restored token must match: the login it was persisted for. */
export interface RestoreExpectation {
  authPath: string;
  /** The auth role, compared with the token's `meta.role` when Vault records one. */
  role?: string;
  /** The credential provider's UID, compared with `meta.service_account_uid` when recorded. */
  providerUid?: string;
  /** The Vault namespace the client works in (VSO's entry does not record it). */
  vaultNamespace?: string;
}

export type RestoreVerdict = { use: true; remainingS: number } | { use: false; reason: string };

/** Below this many seconds of remaining TTL a restored token is not worth keeping. */
export const MIN_REMAINING_S = 5;

/**
 * Whether a persisted token may be used again. `now` is injected so the
 * expiry arithmetic is testable; Vault's `ttl` and `expire_time` are both
 * honoured (the smaller remaining time wins).
 */
export function restoreVerdict(
  entry: PersistedSession,
  lookup: TokenLookup,
  expect: RestoreExpectation,
  now: number,
): RestoreVerdict {
  if (lookup.accessor !== entry.accessor) return { use: false, reason: "accessor does not match" };
  const path = (lookup.path ?? "").replace(/\/+$/, "");
  if (path !== expect.authPath || (entry.authPath !== undefined && entry.authPath !== expect.authPath)) {
    return { use: false, reason: "token was not issued by the expected auth mount" };
  }
  const meta = lookup.meta ?? {};
  if (expect.role && meta.role !== undefined && meta.role !== expect.role) {
    return { use: false, reason: "token was issued for another role" };
  }
  if (
    expect.providerUid &&
    meta.service_account_uid !== undefined &&
    meta.service_account_uid !== expect.providerUid
  ) {
    return { use: false, reason: "token was issued for another service account" };
  }
  if (!lookup.renewable) return { use: false, reason: "token is not renewable" };
  let remaining = typeof lookup.ttl === "number" ? lookup.ttl : Number.POSITIVE_INFINITY;
  if (lookup.expire_time) {
    const t = Date.parse(lookup.expire_time);
    if (Number.isFinite(t)) remaining = Math.min(remaining, Math.floor((t - now) / 1000));
  }
  if (!Number.isFinite(remaining) || remaining <= 0) {
    return { use: false, reason: "token has no expiry or has expired" };
  }
  if (remaining < MIN_REMAINING_S) return { use: false, reason: `token expires in ${remaining}s` };
  return { use: true, remainingS: remaining };
}
