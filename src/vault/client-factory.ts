// Hands out logged-in Vault clients, cached by VSO's key
// "<method>-<22 hex>" over (VaultAuth UID+generation, VaultConnection
// UID+generation, credential provider UID) in a bounded LRU. A client whose
// token is near expiry or failed to renew is replaced by a fresh login.
import { createHash } from "node:crypto";
import { LRUCache } from "lru-cache";
import type { VaultConnection } from "../api/index.ts";
import type { KubeClient } from "../kube/client.ts";
import type { ResolvedAuth } from "../operator/refs.ts";
import { type LoginResult, VaultClient } from "./client.ts";
import { buildVaultHttp } from "./connection.ts";
import type { VaultHttp } from "./http.ts";
import { credentialProvider } from "./login.ts";

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
  private readonly inflight = new Map<string, Promise<VaultClient>>();
  private readonly userAgent: string;
  private readonly metrics?: ClientFactoryMetrics;

  constructor(kube: KubeClient, opts: { size: number; userAgent: string; metrics?: ClientFactoryMetrics }) {
    this.kube = kube;
    this.userAgent = opts.userAgent;
    this.metrics = opts.metrics;
    this.cache = new LRUCache<string, VaultClient>({
      max: Math.max(1, opts.size),
      dispose: (client, _key, reason) => {
        client.close();
        if (reason === "evict") this.metrics?.evicted();
      },
    });
  }

  get size(): number {
    return this.cache.size;
  }

  private async http(conn: VaultConnection): Promise<VaultHttp> {
    const key = `${conn.metadata.uid}-${conn.metadata.generation}`;
    let h = this.https.get(key);
    if (!h) {
      h = await buildVaultHttp(this.kube, conn, this.userAgent);
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

  async get(
    resolved: ResolvedAuth,
    connection: VaultConnection,
    consumerNamespace: string,
  ): Promise<VaultClient> {
    const provider = await credentialProvider(this.kube, resolved, consumerNamespace);
    const key = clientCacheKey(
      resolved.spec.method,
      resolved.auth.metadata.uid ?? "",
      resolved.auth.metadata.generation ?? 0,
      connection.metadata.uid ?? "",
      connection.metadata.generation ?? 0,
      provider.uid,
    );
    const cached = this.cache.get(key);
    if (cached?.isValid()) {
      this.metrics?.hit();
      return cached;
    }
    if (cached) this.cache.delete(key);
    this.metrics?.miss();
    const pending = this.inflight.get(key);
    if (pending) return await pending;
    const p = (async () => {
      const http = await this.http(connection);
      const connName = `${connection.metadata.namespace}/${connection.metadata.name}`;
      const login = async (): Promise<LoginResult> => {
        const t0 = performance.now();
        try {
          const res = await http.call<{
            auth: { client_token: string; accessor: string; renewable: boolean; lease_duration: number };
          }>("PUT", `auth/${resolved.spec.mount}/login`, {
            body: await provider.loginBody(),
            namespace: resolved.spec.namespace,
            headers: resolved.spec.headers,
          });
          const auth = res.json?.auth;
          if (!auth?.client_token) throw new Error(`login to auth/${resolved.spec.mount} returned no token`);
          this.metrics?.operation("login", connName, true, (performance.now() - t0) / 1000);
          return {
            token: auth.client_token,
            accessor: auth.accessor,
            renewable: auth.renewable,
            leaseDurationS: auth.lease_duration,
          };
        } catch (err) {
          this.metrics?.operation("login", connName, false, (performance.now() - t0) / 1000);
          throw err;
        }
      };
      const client = new VaultClient(http, key, resolved.spec.namespace, await login(), login);
      client.onOperation = (op, ok, s) => this.metrics?.operation(op, connName, ok, s);
      client.tags = {
        authUid: resolved.auth.metadata.uid,
        authGeneration: resolved.auth.metadata.generation,
        connectionUid: connection.metadata.uid,
        connectionGeneration: connection.metadata.generation,
      };
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

  /** Drops every cached client whose key was built from this VaultAuth or VaultConnection UID. */
  purgeFor(predicate: (client: VaultClient) => boolean): number {
    let n = 0;
    for (const [k, c] of this.cache.entries()) {
      if (predicate(c)) {
        this.cache.delete(k);
        n++;
      }
    }
    return n;
  }

  close(): void {
    this.cache.clear();
    this.https.clear();
  }
}
