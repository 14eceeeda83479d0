// Hands out logged-in Vault clients, cached by VSO's key
// "<method>-<22 hex>" over (VaultAuth UID+generation, VaultConnection
// UID+generation, credential provider UID) in a bounded LRU. A client whose
// token is near expiry or failed to renew is replaced by a fresh login. With
// persistence on, tokens are saved when obtained and taken over after a restart.
// A client let go (replaced, purged, evicted) is retired, not forgotten: its
// token stays known until it ends, so the credentials under it are replaced in
// time and can still be revoked with it; a retired token that no credential
// hangs on is revoked at once (issue 18).
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { VaultConnection } from "../api/index.ts";
import type { KubeClient } from "../kube/client.ts";
import type { CaCertPathPolicy } from "./ca-cert-path.ts";
import { type EndedToken, type LoginResult, VaultClient } from "./client.ts";
import { loginPath, shouldPersist } from "./client-cache-entry.ts";
import type { CacheLog, ClientCacheOrigin, ClientCachePersistence } from "./client-cache-storage.ts";
import { buildVaultHttp } from "./connection.ts";
import type { VaultHttp } from "./http.ts";
import { cachedServiceAccountUid, credentialProvider, type ServiceAccountUid } from "./login.ts";
import type { ResolvedAuth } from "./resolved-auth.ts";
import { NO_GUARDS, type TenantGuards } from "./tenant-guards.ts";
import type { ParentToken } from "./token-life.ts";

/** A token this process stopped using, kept until it ends (and an hour after, to answer for it). */
interface EndedRecord {
  endsAtMs: number;
  /** The client that held it, while its token lives: to revoke what hangs on it. */
  client?: VaultClient;
  /** The client still holds that very token (a retired client), so it can revoke the token itself. */
  ownToken?: boolean;
}
const ENDED_KEPT_MS = 3_600_000;

export function clientCacheKey(
  method: string,
  authUid: string,
  authGen: number,
  connUid: string,
  connGen: number,
  providerUid: string,
): string {
  const sum = createHash("sha256")
    .update(`${authUid}-${authGen}.${connUid}-${connGen}.${providerUid}`)
    .digest();
  return `${method}-${Buffer.concat([sum.subarray(0, 7), sum.subarray(sum.length - 4)]).toString("hex")}`;
}

export interface ClientFactoryMetrics {
  hit(): void;
  miss(): void;
  evicted(): void;
  operation(op: string, connection: string, ok: boolean, seconds: number): void;
}

export class VaultClientFactory {
  private readonly kube: KubeClient;
  private readonly cache: LRUCache<string, VaultClient>;
  private readonly https = new Map<string, VaultHttp>();
  private readonly inflight = new Map<string, Promise<VaultClient | undefined>>();
  private readonly userAgent: string;
  private readonly metrics?: ClientFactoryMetrics;
  private readonly persistence?: ClientCachePersistence;
  private readonly log?: CacheLog;
  private readonly serviceAccountUid: ServiceAccountUid;
  private readonly caCertPath?: CaCertPathPolicy;
  private readonly guards: TenantGuards;
  private readonly tokenInUse: (tokenId: string) => boolean;
  private readonly ended = new Map<string, EndedRecord>();
  private readonly endedListeners: ((t: EndedToken) => void)[] = [];
  private closing = false;

  constructor(
    kube: KubeClient,
    opts: {
      size: number;
      userAgent: string;
      metrics?: ClientFactoryMetrics;
      /** Client-cache persistence (direct-unencrypted or direct-encrypted); absent for `none`. */
      persistence?: ClientCachePersistence;
      log?: CacheLog;
      /** Where VaultConnection spec.caCertPath may read from; absent: never. */
      caCertPath?: CaCertPathPolicy;
      /** The cluster admin's guard rails for tenant namespaces. */
      guards?: TenantGuards;
      /** Whether a resource still records credentials obtained with this token (status.vaultClientMeta.id). */
      tokenInUse?: (tokenId: string) => boolean;
    },
  ) {
    this.kube = kube;
    this.serviceAccountUid = cachedServiceAccountUid(kube);
    this.userAgent = opts.userAgent;
    this.metrics = opts.metrics;
    this.persistence = opts.persistence;
    this.log = opts.log;
    this.caCertPath = opts.caCertPath;
    this.guards = opts.guards ?? NO_GUARDS;
    this.tokenInUse = opts.tokenInUse ?? (() => true);
    this.cache = new LRUCache<string, VaultClient>({
      max: Math.max(1, opts.size),
      dispose: (client, _key, reason) => {
        if (reason === "evict") this.metrics?.evicted();
        this.retire(client);
      },
    });
  }

  get size(): number {
    return this.cache.size;
  }

  /** Called whenever a token ends for this process (revoked, replaced, retired). */
  onTokenEnded(listener: (t: EndedToken) => void): void {
    this.endedListeners.push(listener);
  }

  private tokenEnded(t: EndedToken, client?: VaultClient, ownToken = false): void {
    const now = Date.now();
    if (t.why === "ending") {
      // Still the client's token: only its dependents need to hear when it ends.
      for (const l of this.endedListeners) l(t);
      return;
    }
    for (const [id, r] of this.ended) if (r.endsAtMs + ENDED_KEPT_MS < now) this.ended.delete(id);
    const live = t.endsAtMs > now;
    this.ended.set(t.id, {
      endsAtMs: t.endsAtMs,
      client: live ? client : undefined,
      ownToken: live && ownToken,
    });
    for (const l of this.endedListeners) l(t);
  }

  /**
   * A client leaves the cache: it is no longer renewed. Its token runs out
   * on its own if credentials hang on it (they move to a new token before
   * then); otherwise it is revoked now. At shutdown nothing is revoked: the
   * next process takes the tokens over or replaces what hangs on them.
   */
  private retire(client: VaultClient): void {
    client.close();
    if (this.closing) return;
    // Whether leases hang on it is what the resources' status records (a token
    // restored after a restart holds leases this process never issued).
    if (!this.tokenInUse(client.id)) {
      void client.revokeSelf();
      return;
    }
    this.tokenEnded(
      { id: client.id, endsAtMs: client.expiresAt() ?? Date.now(), why: "replaced" },
      client,
      true,
    );
  }

  /**
   * Nothing depends on a retired token any more (the last credential under it
   * was revoked or replaced): it is revoked now instead of running out.
   */
  async releaseRetired(tokenId: string): Promise<void> {
    const r = this.ended.get(tokenId);
    if (!r?.client || !r.ownToken) return;
    const client = r.client;
    this.ended.set(tokenId, { endsAtMs: Date.now() });
    await client.revokeSelf();
  }

  /** What this process knows of the token a credential was obtained with (see ParentToken). */
  parentToken(parentId: string | undefined, current: VaultClient): ParentToken {
    if (parentId === current.id) return { state: "current", endsAtMs: current.endsAtMs };
    const r = parentId ? this.ended.get(parentId) : undefined;
    if (r) return { state: "retired", endsAtMs: r.endsAtMs };
    return { state: "unknown" };
  }

  /**
   * A client that can still revoke what a resource holds when its VaultAuth
   * or VaultConnection is gone already (a namespace deleted whole): the one
   * cached under the key the resource recorded, or the retired one that held
   * its token.
   */
  clientForRevocation(cacheKey: string | undefined, tokenId: string | undefined): VaultClient | undefined {
    const current = cacheKey ? this.cache.peek(cacheKey) : undefined;
    if (current) return current;
    const r = tokenId ? this.ended.get(tokenId) : undefined;
    return r?.client && r.endsAtMs > Date.now() ? r.client : undefined;
  }

  private async http(conn: VaultConnection): Promise<VaultHttp> {
    const key = `${conn.metadata.uid}-${conn.metadata.generation}`;
    let h = this.https.get(key);
    if (!h) {
      h = await buildVaultHttp(this.kube, conn, this.userAgent, this.caCertPath, this.guards);
      // Drop HTTP layers of older generations of the same connection.
      for (const k of this.https.keys()) if (k.startsWith(`${conn.metadata.uid}-`)) this.https.delete(k);
      this.https.set(key, h);
    }
    return h;
  }

  /** An unauthenticated HTTP layer for a connection (health checks). */
  async connectionHttp(conn: VaultConnection): Promise<VaultHttp> {
    return await this.http(conn);
  }

  /**
   * The logged-in client for a consumer namespace: from memory, else restored
   * from the persisted client cache (before any login, so leases created with
   * the token before a restart stay children of a live token), else a fresh
   * login, persisted when persistence is on. `persist: false` with a
   * `keySuffix` gives a separate client that is never persisted (the one that
   * encrypts the others).
   */
  async get(
    resolved: ResolvedAuth,
    connection: VaultConnection,
    consumerNamespace: string,
    opts: { persist?: boolean; keySuffix?: string } = {},
  ): Promise<VaultClient> {
    const client = await this.obtain(resolved, connection, consumerNamespace, {
      ...opts,
      restoreOnly: false,
    });
    if (!client) throw new Error("unreachable: a login always yields a client");
    return client;
  }

  /** Restores a persisted client into memory (and renews it) without logging in; undefined if none is usable. */
  async restorePersisted(
    resolved: ResolvedAuth,
    connection: VaultConnection,
    providerNamespace: string,
  ): Promise<VaultClient | undefined> {
    if (!this.persistence) return undefined;
    return await this.obtain(resolved, connection, providerNamespace, { restoreOnly: true });
  }

  private async obtain(
    resolved: ResolvedAuth,
    connection: VaultConnection,
    consumerNamespace: string,
    opts: { persist?: boolean; keySuffix?: string; restoreOnly: boolean },
  ): Promise<VaultClient | undefined> {
    // The connection's address is checked before any token is requested for it.
    const http = await this.http(connection);
    const provider = await credentialProvider(
      this.kube,
      resolved,
      consumerNamespace,
      this.serviceAccountUid,
      this.guards,
    );
    const baseKey = clientCacheKey(
      resolved.spec.method,
      resolved.auth.metadata.uid ?? "",
      resolved.auth.metadata.generation ?? 0,
      connection.metadata.uid ?? "",
      connection.metadata.generation ?? 0,
      provider.uid,
    );
    const key = opts.keySuffix ? `${baseKey}-${opts.keySuffix}` : baseKey;
    const persistence = opts.persist === false ? undefined : this.persistence;
    const cached = this.cache.get(key);
    if (cached?.isValid()) {
      this.metrics?.hit();
      return cached;
    }
    if (cached) this.cache.delete(key);
    this.metrics?.miss();
    const pending = this.inflight.get(key);
    if (pending) {
      const c = await pending;
      if (c || opts.restoreOnly) return c;
    }
    const origin: ClientCacheOrigin = {
      cacheKey: key,
      authNamespace: resolved.auth.metadata.namespace ?? "",
      authUid: resolved.auth.metadata.uid ?? "",
      authGeneration: resolved.auth.metadata.generation ?? 0,
      connectionNamespace: connection.metadata.namespace ?? "",
      connectionUid: connection.metadata.uid ?? "",
      connectionGeneration: connection.metadata.generation ?? 0,
      providerNamespace: consumerNamespace,
      providerUid: provider.uid,
    };
    const authPath = loginPath(resolved.spec.mount);
    const p = (async (): Promise<VaultClient | undefined> => {
      const connName = `${connection.metadata.namespace}/${connection.metadata.name}`;
      const login = async (): Promise<LoginResult> => {
        const t0 = performance.now();
        try {
          const res = await http.call<{
            auth: { client_token: string; accessor: string; renewable: boolean; lease_duration: number };
          }>("PUT", authPath, {
            body: await provider.loginBody(),
            namespace: resolved.spec.namespace,
            headers: resolved.spec.headers,
          });
          const auth = res.json?.auth;
          if (!auth?.client_token) throw new Error(`login to ${authPath} returned no token`);
          this.metrics?.operation("login", connName, true, (performance.now() - t0) / 1000);
          return {
            token: auth.client_token,
            accessor: auth.accessor,
            renewable: auth.renewable,
            leaseDurationS: auth.lease_duration,
            ttlS: auth.lease_duration,
            response: res.json,
          };
        } catch (err) {
          this.metrics?.operation("login", connName, false, (performance.now() - t0) / 1000);
          throw err;
        }
      };
      const method = resolved.spec.method;
      const restored = await persistence?.restore(key, http, {
        authPath,
        role: (resolved.spec[method] as { role?: string } | undefined)?.role,
        providerUid: method === "kubernetes" ? provider.uid : undefined,
        vaultNamespace: resolved.spec.namespace,
      });
      if (!restored && opts.restoreOnly) return undefined;
      const session = restored ?? (await login());
      const client = new VaultClient(http, key, resolved.spec.namespace, session, login);
      client.onOperation = (op, ok, s) => this.metrics?.operation(op, connName, ok, s);
      client.onTokenEnded = (t) => this.tokenEnded(t, t.why === "revoked" ? undefined : client);
      client.tags = {
        authUid: resolved.auth.metadata.uid,
        authGeneration: resolved.auth.metadata.generation,
        connectionUid: connection.metadata.uid,
        connectionGeneration: connection.metadata.generation,
        persisted: persistence !== undefined,
        restored: restored !== undefined,
      };
      if (persistence) {
        const save = async (s: LoginResult) => {
          if (!shouldPersist(s)) return;
          try {
            await persistence.save(origin, s);
          } catch (err) {
            this.log?.warn(
              { cacheKey: key, err: err instanceof Error ? err.message : String(err) },
              "cannot persist Vault client; it works but will not survive a restart",
            );
          }
        };
        client.onNewSession = save;
        client.onRenewalRejected = () => void persistence.discard(key, "Vault refused to renew the token");
        if (!restored) await save(session);
      }
      this.cache.set(key, client);
      return client;
    })();
    this.inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(key);
    }
  }

  /**
   * Drops every cached client the predicate selects (their VaultAuth or
   * VaultConnection changed or went away), with their persisted entries.
   */
  purgeFor(predicate: (client: VaultClient) => boolean): number {
    let n = 0;
    for (const [k, c] of this.cache.entries()) {
      if (predicate(c)) {
        this.cache.delete(k);
        if (c.tags.persisted) void this.persistence?.discard(k, "its VaultAuth or VaultConnection changed");
        n++;
      }
    }
    return n;
  }

  close(): void {
    this.closing = true;
    this.cache.clear();
    this.https.clear();
    this.ended.clear();
  }
}
