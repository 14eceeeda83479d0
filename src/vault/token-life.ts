// The life of a Vault token and what hangs on it. In Vault a lease is a child
// of the token that obtained it: when that token is revoked or expires, Vault
// revokes every lease it holds. So every credential vso-ts delivers is judged
// by its parent token too (issue 18): the decisions take the parent's state as
// an input and replace a credential before its parent ends, never after.
// Pure functions and plain data only.

/**
 * What this process knows of the token a credential was obtained with
 * (status.vaultClientMeta.id, a hash of its accessor):
 * - `current`: the token the resource's client holds now; renewed by us.
 *   `endsAtMs` is set once its end is certain (max TTL reached, or not renewable).
 * - `retired`: a token this process held and stopped using (replaced after a
 *   403, its VaultAuth or VaultConnection changed, near its end); it is no
 *   longer renewed and ends at `endsAtMs` (already, when it was revoked).
 * - `unknown`: a token of another process (before a restart, a leader
 *   change, VSO before a switch). It is renewed by nobody now, so it ends
 *   within one token TTL, at a moment nobody here knows.
 */
export type ParentToken =
  | { state: "current"; endsAtMs?: number }
  | { state: "retired"; endsAtMs: number }
  | { state: "unknown" };

/**
 * How long before a token's certain end its client is replaced and every
 * credential under it has moved to a new one: a fifth of the token's TTL,
 * between 2 s and 60 s. One rule for both, so that a credential is always
 * re-issued with the new token, never with the ending one.
 */
export function tokenEndMarginMs(ttlMs: number): number {
  if (ttlMs <= 0) return 0;
  return Math.min(60_000, Math.max(2_000, ttlMs * 0.2));
}

/**
 * When a credential whose parent token is unknown is replaced. The other
 * process renewed its token at two thirds of its TTL, so at the moment it
 * stopped the token had at least a third of one TTL left: replacements are
 * spread (by `jitter` in [0, 1), stable per credential) over the first 80 % of
 * that third, counted from when this process first saw the credential. The
 * TTL is that of this process's own login with the same VaultAuth.
 */
export function unknownParentReplaceAtMs(firstSeenMs: number, tokenTtlMs: number, jitter: number): number {
  const window = Math.max(0, (tokenTtlMs / 3) * 0.8);
  return firstSeenMs + window * Math.min(Math.max(jitter, 0), 1);
}

/**
 * When a credential hanging on `parent` must have been replaced, or undefined
 * if its parent gives no deadline (a current token still renewable). For an
 * unknown parent the caller supplies the spread time.
 */
export function parentDeadlineMs(
  parent: ParentToken,
  tokenTtlMs: number,
  unknownReplaceAtMs: number,
): number | undefined {
  switch (parent.state) {
    case "current":
      return parent.endsAtMs === undefined ? undefined : parent.endsAtMs - tokenEndMarginMs(tokenTtlMs);
    case "retired":
      return parent.endsAtMs - tokenEndMarginMs(tokenTtlMs);
    case "unknown":
      return unknownReplaceAtMs;
  }
}
