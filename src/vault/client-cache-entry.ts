// A persisted Vault client-cache entry: what is needed to take over a token
// after a restart (the token, its accessor and TTLs, when it was issued, the
// cache key and login path it belongs to), how it is serialised, and the pure
// decisions about it: whether a session is worth persisting, and whether a
// restored token may be used, given what Vault's lookup-self says about it.
// Errors raised here describe the problem, never the entry's content.

export const ENTRY_VERSION = 1;

export interface PersistedSession {
  version: number;
  cacheKey: string;
  token: string;
  accessor: string;
  renewable: boolean;
  /** TTL granted at login, in seconds: the increment asked for on each renewal. */
  ttlS: number;
  /** When the token was issued (ms since the epoch). */
  issuedAtMs: number;
  /** `auth/<mount>/login`: the login path Vault records on the token. */
  authPath: string;
  vaultNamespace?: string;
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

export function encodeEntry(e: PersistedSession): Buffer {
  return Buffer.from(JSON.stringify(e), "utf8");
}

export function decodeEntry(bytes: Buffer, expectedCacheKey: string): PersistedSession {
  let v: unknown;
  try {
    v = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw new CacheEntryError("entry is not valid JSON");
  }
  if (!v || typeof v !== "object") throw new CacheEntryError("entry is not an object");
  const e = v as Partial<PersistedSession>;
  if (e.version !== ENTRY_VERSION)
    throw new CacheEntryError(`unsupported entry version ${String(e.version)}`);
  const str = (x: unknown) => typeof x === "string" && x.length > 0;
  const num = (x: unknown) => typeof x === "number" && Number.isFinite(x) && x >= 0;
  if (!str(e.token) || !str(e.accessor) || !str(e.cacheKey) || !str(e.authPath)) {
    throw new CacheEntryError("entry lacks token, accessor, cacheKey or authPath");
  }
  if (!num(e.ttlS) || !num(e.issuedAtMs) || typeof e.renewable !== "boolean") {
    throw new CacheEntryError("entry lacks ttlS, issuedAtMs or renewable");
  }
  if (e.vaultNamespace !== undefined && typeof e.vaultNamespace !== "string") {
    throw new CacheEntryError("entry has an invalid vaultNamespace");
  }
  if (e.cacheKey !== expectedCacheKey) throw new CacheEntryError("entry belongs to another cache key");
  return e as PersistedSession;
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
  if ((lookup.path ?? "").replace(/\/+$/, "") !== expect.authPath || entry.authPath !== expect.authPath) {
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
