// A logged-in Vault client: one token for one (VaultAuth, VaultConnection,
// credential provider). On a 403 it logs in again once before giving up, so a
// policy change on Vault takes effect without waiting for the token to expire
// (VSO issue #1185). Tokens never leave this object except in request headers.
import { blake2b } from "@noble/hashes/blake2.js";
import { setClampedTimeout } from "../util/timers.ts";
import { VaultApiError, type VaultHttp, type VaultRequestOptions, type VaultResponse } from "./http.ts";

export interface LoginResult {
  token: string;
  accessor: string;
  renewable: boolean;
  /** Seconds the token is valid from now (from obtaining this result). */
  leaseDurationS: number;
  /** TTL granted at login: the increment asked for on renewal. Defaults to leaseDurationS. */
  ttlS?: number;
  /** When the token was issued, for a token restored from the persisted client cache. */
  issuedAtMs?: number;
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
  readonly stats = { logins: 1, renewals: 0, reloginsOn403: 0 };
  /** What the client was built from, so it can be purged when those change. */
  tags: {
    authUid?: string;
    authGeneration?: number;
    connectionUid?: string;
    connectionGeneration?: number;
    /** Whether the token is saved in the persisted client cache. */
    persisted?: boolean;
  } = {};
  onOperation?: (op: string, ok: boolean, seconds: number) => void;
  /** A 403 made the client log in again: the new token is recorded (persistence) before it is used. */
  onNewSession?: (session: LoginResult) => Promise<void>;
  /** Vault refused to renew the token (a 4xx): it will never be renewed again. */
  onRenewalRejected?: () => void;

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
    this.scheduleRenewal();
  }

  /** blake2b-256 hex of the token accessor, as VSO reports in status.vaultClientMeta.id. */
  get id(): string {
    return Buffer.from(blake2b(new TextEncoder().encode(this.session.accessor), { dkLen: 32 })).toString(
      "hex",
    );
  }

  /** Whether the token is usable for a while longer (not within the last fifth of its TTL). */
  isValid(now = Date.now()): boolean {
    if (this.closed || this.stale) return false;
    const ttlMs = this.session.leaseDurationS * 1000;
    if (ttlMs <= 0) return true; // non-expiring token (e.g. root)
    const margin = Math.min(ttlMs * 0.2, 60_000);
    return now < this.obtainedAt + ttlMs - margin;
  }

  expiresAt(): number | undefined {
    return this.session.leaseDurationS > 0 ? this.obtainedAt + this.session.leaseDurationS * 1000 : undefined;
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
        this.session = { ...this.session, leaseDurationS: auth.lease_duration, renewable: auth.renewable };
        this.scheduleRenewal();
      }
    } catch (err) {
      this.stale = true;
      if (err instanceof VaultApiError && err.status >= 400 && err.status < 500) this.onRenewalRejected?.();
    }
  }

  private async relogin(): Promise<void> {
    this.session = await this.login();
    this.obtainedAt = Date.now();
    this.stale = false;
    this.stats.logins++;
    this.scheduleRenewal();
    await this.onNewSession?.(this.session);
  }

  /** Calls Vault with this client's token; a 403 triggers one fresh login and a retry. */
  async request<T = Record<string, unknown>>(
    method: Method,
    path: string,
    opts: Omit<VaultRequestOptions, "token"> = {},
    operation = method === "GET" || method === "LIST" ? "read" : "write",
  ): Promise<VaultResponse<T>> {
    const ns = opts.namespace ?? this.vaultNamespace;
    const t0 = performance.now();
    try {
      const res = await this.http.call<T>(method, path, {
        ...opts,
        namespace: ns,
        token: this.session.token,
      });
      this.onOperation?.(operation, true, (performance.now() - t0) / 1000);
      return res;
    } catch (err) {
      if (err instanceof VaultApiError && err.status === 403) {
        this.stats.reloginsOn403++;
        await this.relogin();
        const res = await this.http.call<T>(method, path, {
          ...opts,
          namespace: ns,
          token: this.session.token,
        });
        this.onOperation?.(operation, true, (performance.now() - t0) / 1000);
        return res;
      }
      this.onOperation?.(operation, false, (performance.now() - t0) / 1000);
      throw err;
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.renewTimer);
  }
}
