// A logged-in Vault client: one token for one (VaultAuth, VaultConnection,
// credential provider). Tokens never leave this object except in request headers.
// A 403 is handled once per token, for every caller at once (issue 18):
// - the token is dead (revoked, expired; its own lookup-self is refused): one
//   login replaces it, and whoever holds credentials under it is told;
// - the token is alive: the path is not allowed. A fresh login may cure that
//   (the role's policies changed, VSO #1185), so one is tried, at most once per
//   probe interval (10 s doubling to 5 min); a fresh token that does not cure
//   it is revoked at once, and the old one, which other resources' leases hang
//   on, stays. The caller gets a VaultPermissionError, never a login per retry.
import { blake2b } from "@noble/hashes/blake2.js";
import { setClampedTimeout } from "../util/timers.ts";
import { VaultApiError, type VaultHttp, type VaultRequestOptions, type VaultResponse } from "./http.ts";
import { tokenEndMarginMs } from "./token-life.ts";

/** A path the client's token may not use, and a fresh login did not change that. */
export class VaultPermissionError extends VaultApiError {
  constructor(method: string, path: string, vaultErrors: string[]) {
    super(method, path, 403, vaultErrors);
    this.name = "VaultPermissionError";
    this.message = `${this.message} (permission denied, also with a fresh token: grant the Vault role's policy access to ${path})`;
  }
}

/** A token this client stopped using, for whoever holds credentials under it. */
export interface EndedToken {
  /** blake2b-256 hex of its accessor (status.vaultClientMeta.id). */
  id: string;
  /** When it ends (already, when it was revoked or expired). */
  endsAtMs: number;
  /** revoked: gone now; replaced: no longer renewed by us; ending: still ours, but its end is now certain (max TTL). */
  why: "revoked" | "replaced" | "ending";
}

/** How often a token that leases hang on is checked for a revocation out of band. */
export const TOKEN_HEARTBEAT_MS = 5_000;
/** The first probe login for a 403 on a live token, doubling up to the cap. */
const PROBE_INITIAL_MS = 10_000;
const PROBE_MAX_MS = 300_000;

function tokenId(accessor: string): string {
  return Buffer.from(blake2b(new TextEncoder().encode(accessor), { dkLen: 32 })).toString("hex");
}

export interface LoginResult {
  token: string;
  accessor: string;
  renewable: boolean;
  /** Seconds the token is valid from now (from obtaining this result). */
  leaseDurationS: number;
  /** TTL granted at login: the increment asked for on renewal. Defaults to leaseDurationS. */
  ttlS?: number;
  /** The login response Vault returned (or that was restored): what the persisted client cache stores. */
  response?: object;
}

export type Method = "GET" | "PUT" | "POST" | "DELETE" | "LIST" | "PATCH";

export class VaultClient {
  readonly http: VaultHttp;
  readonly cacheKey: string;
  readonly vaultNamespace: string | undefined;
  private login: () => Promise<LoginResult>;
  private session: LoginResult;
  private obtainedAt: number;
  private renewTimer?: NodeJS.Timeout;
  private closed = false;
  /** Set when a renewal failed: the token is re-created on next use. */
  private stale = false;
  /** When the token ends for good (max TTL reached, or not renewable); undefined while renewable. */
  private finalEndMs?: number;
  /** One replacement of a dead token at a time, whoever met the 403. */
  private replacing?: Promise<void>;
  private nextProbeMs = 0;
  private probeIntervalMs = PROBE_INITIAL_MS;
  /** A lease or certificate was obtained with this client: its tokens must outlive them. */
  private holding = false;
  private heartbeatTimer?: NodeJS.Timeout;
  readonly stats = { logins: 1, renewals: 0, reloginsOn403: 0, probeLogins: 0 };
  /** What the client was built from, so it can be purged when those change. */
  tags: {
    authUid?: string;
    authGeneration?: number;
    connectionUid?: string;
    connectionGeneration?: number;
    /** Whether the token is saved in the persisted client cache. */
    persisted?: boolean;
    /** Whether the token was taken over from the persisted client cache (not obtained by a login here). */
    restored?: boolean;
  } = {};
  onOperation?: (op: string, ok: boolean, seconds: number) => void;
  /** A 403 made the client log in again: the new token is recorded (persistence) before it is used. */
  onNewSession?: (session: LoginResult) => Promise<void>;
  /** Vault refused to renew the token (a 4xx): it will never be renewed again. */
  onRenewalRejected?: () => void;
  /** The client stopped using a token (revoked, or replaced by a fresh login). */
  onTokenEnded?: (ended: EndedToken) => void;

  constructor(
    http: VaultHttp,
    cacheKey: string,
    vaultNamespace: string | undefined,
    session: LoginResult,
    login: () => Promise<LoginResult>,
  ) {
    this.http = http;
    this.cacheKey = cacheKey;
    this.vaultNamespace = vaultNamespace;
    this.session = session;
    this.login = login;
    this.obtainedAt = Date.now();
    this.noteFinalEnd();
    this.scheduleRenewal();
  }

  /**
   * A lease was obtained with this client. From now on its token is checked
   * every few seconds (lookup-self, which every policy allows): a token
   * revoked out of band takes its leases with it at once, and nothing else
   * would notice before the next renewal, minutes or hours later.
   */
  markHoldsCredentials(): void {
    if (this.holding) return;
    this.holding = true;
    const beat = async () => {
      if (this.closed) return;
      const token = this.session.token;
      try {
        if (!(await this.tokenAlive(token))) await this.replaceDead(token);
      } catch {
        // Vault unreachable: the next beat tries again; renewals have their own handling.
      }
      if (!this.closed) this.heartbeatTimer = setClampedTimeout(() => void beat(), TOKEN_HEARTBEAT_MS);
    };
    this.heartbeatTimer = setClampedTimeout(() => void beat(), TOKEN_HEARTBEAT_MS);
  }

  /** blake2b-256 hex of the token accessor, as VSO reports in status.vaultClientMeta.id. */
  get id(): string {
    return tokenId(this.session.accessor);
  }

  /** The TTL granted at login, in ms: the life of a token of this role. */
  get tokenTtlMs(): number {
    return (this.session.ttlS ?? this.session.leaseDurationS) * 1000;
  }

  /** When the current token ends for good, if that is certain already (see ParentToken). */
  get endsAtMs(): number | undefined {
    return this.finalEndMs;
  }

  /**
   * Whether the token is usable for a while longer: not within the last fifth
   * of its TTL, and not within the margin before its certain end, by which
   * every credential under it must have moved to a new token.
   */
  isValid(now = Date.now()): boolean {
    if (this.closed || this.stale) return false;
    const ttlMs = this.session.leaseDurationS * 1000;
    if (ttlMs <= 0) return true; // non-expiring token (e.g. root)
    const margin = Math.min(ttlMs * 0.2, 60_000);
    if (this.finalEndMs !== undefined && now >= this.finalEndMs - tokenEndMarginMs(this.tokenTtlMs))
      return false;
    return now < this.obtainedAt + ttlMs - margin;
  }

  expiresAt(): number | undefined {
    return this.session.leaseDurationS > 0 ? this.obtainedAt + this.session.leaseDurationS * 1000 : undefined;
  }

  /** A token that cannot be renewed ends at its expiry. */
  private noteFinalEnd(): void {
    if (!this.session.renewable && this.session.leaseDurationS > 0) this.finalEndMs = this.expiresAt();
  }

  private scheduleRenewal(): void {
    clearTimeout(this.renewTimer);
    if (this.closed || !this.session.renewable || this.session.leaseDurationS <= 0) return;
    const delay = this.session.leaseDurationS * 1000 * (2 / 3);
    this.renewTimer = setClampedTimeout(() => void this.renewSelf(), delay);
  }

  private async renewSelf(): Promise<void> {
    if (this.closed) return;
    try {
      const res = await this.http.call<{ auth: { lease_duration: number; renewable: boolean } }>(
        "PUT",
        "auth/token/renew-self",
        {
          token: this.session.token,
          namespace: this.vaultNamespace,
          body: { increment: `${this.session.ttlS ?? this.session.leaseDurationS}s` },
        },
      );
      const auth = res.json?.auth;
      if (auth) {
        this.stats.renewals++;
        this.obtainedAt = Date.now();
        const asked = this.session.ttlS ?? this.session.leaseDurationS;
        this.session = { ...this.session, leaseDurationS: auth.lease_duration, renewable: auth.renewable };
        // Granted less than asked: the token reached its max TTL and ends then, whatever we do.
        const knewEnd = this.finalEndMs !== undefined;
        if (auth.lease_duration < asked) this.finalEndMs = this.expiresAt();
        this.noteFinalEnd();
        this.scheduleRenewal();
        if (!knewEnd && this.finalEndMs !== undefined)
          this.onTokenEnded?.({ id: this.id, endsAtMs: this.finalEndMs, why: "ending" });
      }
    } catch (err) {
      this.stale = true;
      if (err instanceof VaultApiError && err.status >= 400 && err.status < 500) this.onRenewalRejected?.();
    }
  }

  private adopt(session: LoginResult): void {
    this.session = session;
    this.obtainedAt = Date.now();
    this.stale = false;
    this.finalEndMs = undefined;
    this.noteFinalEnd();
    this.stats.logins++;
    this.scheduleRenewal();
  }

  /** Whether Vault still knows the token (its own lookup-self is allowed by every policy). */
  private async tokenAlive(token: string): Promise<boolean> {
    try {
      await this.http.call("GET", "auth/token/lookup-self", { token, namespace: this.vaultNamespace });
      return true;
    } catch (err) {
      if (err instanceof VaultApiError && err.status === 403) return false;
      throw err;
    }
  }

  /** Replaces a dead token by one login, however many callers met it. */
  private replaceDead(deadToken: string): Promise<void> {
    if (this.session.token !== deadToken) return Promise.resolve(); // replaced already
    this.replacing ??= (async () => {
      const ended: EndedToken = { id: this.id, endsAtMs: Date.now(), why: "revoked" };
      this.stats.reloginsOn403++;
      this.adopt(await this.login());
      await this.onNewSession?.(this.session);
      this.onTokenEnded?.(ended);
    })().finally(() => {
      this.replacing = undefined;
    });
    return this.replacing;
  }

  /**
   * A 403 on a live token: one fresh login (at most once per probe interval)
   * tells a changed role from a path the role does not allow. Returns the
   * fresh response when it cured the 403; throws VaultPermissionError otherwise.
   */
  private async probeWithFreshToken<T>(
    method: Method,
    path: string,
    opts: VaultRequestOptions,
    refused: VaultApiError,
  ): Promise<VaultResponse<T>> {
    const now = Date.now();
    if (now < this.nextProbeMs) throw new VaultPermissionError(method, path, refused.vaultErrors);
    this.nextProbeMs = now + this.probeIntervalMs;
    this.probeIntervalMs = Math.min(PROBE_MAX_MS, this.probeIntervalMs * 2);
    this.stats.probeLogins++;
    const fresh = await this.login();
    let res: VaultResponse<T>;
    try {
      res = await this.http.call<T>(method, path, { ...opts, token: fresh.token });
    } catch (err) {
      // Not cured: the fresh token is of no use to anyone; the old one stays.
      await this.http
        .call("PUT", "auth/token/revoke-self", { token: fresh.token, namespace: this.vaultNamespace })
        .catch(() => {});
      if (err instanceof VaultApiError && err.status === 403)
        throw new VaultPermissionError(method, path, err.vaultErrors);
      throw err;
    }
    // Cured (the role's policies changed): the fresh token becomes current; the old one is let go.
    const ended: EndedToken = { id: this.id, endsAtMs: this.expiresAt() ?? Date.now(), why: "replaced" };
    const old = this.session.token;
    this.adopt(fresh);
    this.probeIntervalMs = PROBE_INITIAL_MS;
    this.nextProbeMs = 0;
    await this.onNewSession?.(this.session);
    this.onTokenEnded?.(ended);
    if (!this.holding) {
      await this.http
        .call("PUT", "auth/token/revoke-self", { token: old, namespace: this.vaultNamespace })
        .catch(() => {});
    }
    return res;
  }

  /** Calls Vault with this client's token; a 403 is handled as the header says. */
  async request<T = Record<string, unknown>>(
    method: Method,
    path: string,
    opts: Omit<VaultRequestOptions, "token"> = {},
    operation = method === "GET" || method === "LIST" ? "read" : "write",
  ): Promise<VaultResponse<T>> {
    const full = { ...opts, namespace: opts.namespace ?? this.vaultNamespace };
    const t0 = performance.now();
    const done = (ok: boolean) => this.onOperation?.(operation, ok, (performance.now() - t0) / 1000);
    const sent = this.session.token;
    try {
      const res = await this.http.call<T>(method, path, { ...full, token: sent });
      done(true);
      return res;
    } catch (err) {
      if (!(err instanceof VaultApiError && err.status === 403)) {
        done(false);
        throw err;
      }
      try {
        let res: VaultResponse<T>;
        if (this.session.token !== sent || !(await this.tokenAlive(sent))) {
          await this.replaceDead(sent);
          try {
            res = await this.http.call<T>(method, path, { ...full, token: this.session.token });
          } catch (again) {
            if (again instanceof VaultApiError && again.status === 403)
              throw new VaultPermissionError(method, path, again.vaultErrors);
            throw again;
          }
        } else {
          res = await this.probeWithFreshToken<T>(method, path, full, err);
        }
        done(true);
        return res;
      } catch (final) {
        done(false);
        throw final;
      }
    }
  }

  /** Revokes the token itself (a token nothing depends on any more); failures are left to its TTL. */
  async revokeSelf(): Promise<void> {
    await this.http
      .call("PUT", "auth/token/revoke-self", { token: this.session.token, namespace: this.vaultNamespace })
      .catch(() => {});
  }

  /** Stops renewing the token (it runs out on its own). */
  close(): void {
    this.closed = true;
    clearTimeout(this.renewTimer);
    clearTimeout(this.heartbeatTimer);
  }
}
