// The persisted Vault client cache in Kubernetes, as VSO keeps it: one
// immutable Secret `vso-cc-<cacheKey>` per client in the operator namespace,
// `data.secret` the entry (the Vault login response; in the direct-encrypted
// model the JSON of the Transit encrypt response), `data.messageMAC`
// an HMAC-SHA256 over name + cacheKey + entry with the operator's HMAC key,
// and labels saying what the entry was built from so stale ones can be found.
// Also: the Transit target for direct-encrypted, the start-up pass that drops
// stale entries and takes over the live ones, and the wiring per model.
import { createHmac, timingSafeEqual } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { VaultAuth } from "../api/index.ts";
import { CORE, isAlreadyExists, type KubeClient, type KubeObject } from "../kube/client.ts";
import type { MultiInformer } from "../runtime/multi-informer.ts";
import {
  CacheConfigError,
  CacheIntegrityError,
  type CacheLog,
  type CacheStorageMetrics,
  type ClientCacheOrigin,
  ClientCachePersistence,
  type ClientCacheStore,
  type StoredClientEntry,
} from "../vault/client-cache-storage.ts";
import { TransitCipher, type TransitTarget } from "../vault/client-cache-transit.ts";
import type { VaultClientFactory } from "../vault/client-factory.ts";
import type { OperatorConfig } from "./config.ts";
import { mergeVaultAuthGlobal, type ObjectLookup, resolveConnection } from "./refs.ts";

export const CACHE_SECRET_PREFIX = "vso-cc-";
export const STORAGE_ENCRYPTION_LABEL = "cacheStorageEncryption";
const COMPONENT = "client-cache-storage";
/** Suffix of the cache key of the client that encrypts the others (never persisted). */
export const ENCRYPTION_CLIENT_SUFFIX = "storage-encryption";

const L = {
  cacheKey: "cacheKey",
  authNamespace: "auth/namespace",
  authUid: "auth/UID",
  authGeneration: "auth/generation",
  connectionNamespace: "connection/namespace",
  connectionUid: "connection/UID",
  connectionGeneration: "connection/generation",
  providerUid: "provider/UID",
  providerNamespace: "provider/namespace",
} as const;

export function cacheSecretName(cacheKey: string): string {
  return `${CACHE_SECRET_PREFIX}${cacheKey}`;
}

export function cacheSecretLabels(origin: ClientCacheOrigin, encryptedWith?: string): Record<string, string> {
  const labels: Record<string, string> = {
    "app.kubernetes.io/name": "vault-secrets-operator",
    "app.kubernetes.io/managed-by": "vso",
    "app.kubernetes.io/component": COMPONENT,
    [L.cacheKey]: origin.cacheKey,
    [L.authNamespace]: origin.authNamespace,
    [L.authUid]: origin.authUid,
    [L.authGeneration]: String(origin.authGeneration),
    [L.connectionNamespace]: origin.connectionNamespace,
    [L.connectionUid]: origin.connectionUid,
    [L.connectionGeneration]: String(origin.connectionGeneration),
    [L.providerUid]: origin.providerUid,
    [L.providerNamespace]: origin.providerNamespace,
  };
  if (encryptedWith !== undefined) {
    labels.encrypted = "true";
    labels.vaultTransitRef = encryptedWith;
  }
  return labels;
}

export function originFromLabels(labels: Record<string, string>): ClientCacheOrigin {
  return {
    cacheKey: labels[L.cacheKey] ?? "",
    authNamespace: labels[L.authNamespace] ?? "",
    authUid: labels[L.authUid] ?? "",
    authGeneration: Number(labels[L.authGeneration] ?? 0),
    connectionNamespace: labels[L.connectionNamespace] ?? "",
    connectionUid: labels[L.connectionUid] ?? "",
    connectionGeneration: Number(labels[L.connectionGeneration] ?? 0),
    providerUid: labels[L.providerUid] ?? "",
    providerNamespace: labels[L.providerNamespace] ?? "",
  };
}

/** HMAC-SHA256(key, name + cacheKey + entry), as VSO's messageMAC. */
export function cacheEntryMAC(key: Buffer, name: string, cacheKey: string, payload: Buffer): Buffer {
  return createHmac("sha256", key).update(name).update(cacheKey).update(payload).digest();
}

interface SecretObj extends KubeObject {
  data?: Record<string, string>;
}

export class SecretClientCacheStore implements ClientCacheStore {
  private readonly kube: KubeClient;
  private readonly namespace: string;
  private readonly hmacKey: Buffer;

  constructor(kube: KubeClient, namespace: string, hmacKey: Buffer) {
    this.kube = kube;
    this.namespace = namespace;
    this.hmacKey = hmacKey;
  }

  async read(cacheKey: string): Promise<StoredClientEntry | undefined> {
    const name = cacheSecretName(cacheKey);
    const s = await this.kube.getOrNull<SecretObj>(CORE.secrets, this.namespace, name);
    if (!s) return undefined;
    const payload = Buffer.from(s.data?.secret ?? "", "base64");
    const mac = Buffer.from(s.data?.messageMAC ?? "", "base64");
    const want = cacheEntryMAC(this.hmacKey, name, cacheKey, payload);
    if (payload.length === 0 || mac.length !== want.length || !timingSafeEqual(mac, want)) {
      throw new CacheIntegrityError(`Secret ${this.namespace}/${name} fails its messageMAC check`);
    }
    const labels = s.metadata.labels ?? {};
    return {
      origin: originFromLabels(labels),
      payload,
      encryptedWith: labels.encrypted === "true" ? (labels.vaultTransitRef ?? "") : undefined,
    };
  }

  /**
   * Creates the entry as VSO does: an immutable Secret (an anti-tampering
   * measure), so a newer token for the same key replaces it by delete and
   * create. A crash between the two loses only the persistence of the new
   * token: its leases are then under a token the next process does not hold,
   * which it replaces before that token can end (issue 18), as after a lost cache.
   */
  async write(entry: StoredClientEntry): Promise<void> {
    const name = cacheSecretName(entry.origin.cacheKey);
    const body = {
      apiVersion: "v1",
      kind: "Secret",
      immutable: true,
      metadata: {
        name,
        namespace: this.namespace,
        labels: cacheSecretLabels(entry.origin, entry.encryptedWith),
      },
      type: "Opaque",
      data: {
        secret: entry.payload.toString("base64"),
        messageMAC: cacheEntryMAC(this.hmacKey, name, entry.origin.cacheKey, entry.payload).toString(
          "base64",
        ),
      },
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await this.kube.create(CORE.secrets, this.namespace, body);
        return;
      } catch (err) {
        // The delete may still be in progress (a finalizer, or an older entry): try again a few times.
        if (!isAlreadyExists(err) || attempt >= 5) throw err;
        await this.kube.delete(CORE.secrets, this.namespace, name);
        if (attempt > 0) await sleep(200 * 2 ** attempt);
      }
    }
  }

  async delete(cacheKey: string): Promise<void> {
    await this.kube.delete(CORE.secrets, this.namespace, cacheSecretName(cacheKey));
  }

  async list(selector = ""): Promise<ClientCacheOrigin[]> {
    const res = await this.kube.list<SecretObj>(CORE.secrets, this.namespace, {
      labelSelector: [`app.kubernetes.io/component=${COMPONENT}`, selector].filter(Boolean).join(","),
    });
    return res.items
      .filter((s) => s.metadata.name?.startsWith(CACHE_SECRET_PREFIX))
      .map((s) => originFromLabels(s.metadata.labels ?? {}));
  }

  /** Deletes every entry built from a VaultAuth (it was deleted); returns how many. */
  async deleteForAuth(authUid: string): Promise<number> {
    const entries = await this.list(`${L.authUid}=${authUid}`);
    for (const e of entries) await this.delete(e.cacheKey);
    return entries.length;
  }
}

/**
 * The VaultAuth whose spec.storageEncryption encrypts the cache: exactly one
 * in the operator namespace labelled cacheStorageEncryption=true, as in VSO.
 * Its client is logged in for the operator namespace and never persisted.
 */
export function transitTargetResolver(deps: {
  auths: () => VaultAuth[];
  lookup: ObjectLookup;
  clients: () => VaultClientFactory;
  operatorNamespace: string;
  allowDefaultGlobals: boolean;
}): () => Promise<TransitTarget> {
  return async () => {
    const candidates = deps
      .auths()
      .filter(
        (a) =>
          a.metadata.namespace === deps.operatorNamespace &&
          a.metadata.labels?.[STORAGE_ENCRYPTION_LABEL] === "true" &&
          !a.metadata.deletionTimestamp,
      );
    if (candidates.length !== 1) {
      throw new CacheConfigError(
        `direct-encrypted needs exactly one VaultAuth in namespace ${deps.operatorNamespace} labelled ` +
          `${STORAGE_ENCRYPTION_LABEL}=true; found ${candidates.length}`,
      );
    }
    const auth = candidates[0];
    const se = auth.spec?.storageEncryption;
    if (!se?.mount || !se.keyName) {
      throw new CacheConfigError(
        `VaultAuth ${deps.operatorNamespace}/${auth.metadata.name} has no spec.storageEncryption {mount, keyName}`,
      );
    }
    const resolved = mergeVaultAuthGlobal(deps.lookup, auth, deps.operatorNamespace, {
      allowDefaultGlobals: deps.allowDefaultGlobals,
    });
    const connection = resolveConnection(deps.lookup, resolved, deps.operatorNamespace);
    const client = await deps.clients().get(resolved, connection, deps.operatorNamespace, {
      persist: false,
      keySuffix: ENCRYPTION_CLIENT_SUFFIX,
    });
    return { authName: auth.metadata.name ?? "", mount: se.mount, keyName: se.keyName, client };
  };
}

/** Why a persisted entry no longer matches the live objects, or undefined if it still does. */
export function staleReason(
  origin: ClientCacheOrigin,
  auth: VaultAuth | undefined,
  connection: { metadata: { uid?: string; generation?: number } } | undefined,
): string | undefined {
  if (!auth || auth.metadata.uid !== origin.authUid) return "its VaultAuth no longer exists";
  if (auth.metadata.deletionTimestamp) return "its VaultAuth is being deleted";
  if ((auth.metadata.generation ?? 0) !== origin.authGeneration) return "its VaultAuth changed";
  if (!connection || connection.metadata.uid !== origin.connectionUid) {
    return "its VaultConnection no longer exists";
  }
  if ((connection.metadata.generation ?? 0) !== origin.connectionGeneration) {
    return "its VaultConnection changed";
  }
  return undefined;
}

/**
 * At start (once leading, alongside the controllers, whose first use of a
 * client restores it too): drops entries whose VaultAuth or VaultConnection
 * changed or went away, and takes over every other one, so its token is
 * renewed again before it expires whether or not a resource asks for the
 * client soon. An entry that cannot be restored now (Vault unavailable) is
 * left for the first use of the client.
 */
export async function restorePersistedClients(deps: {
  store: SecretClientCacheStore;
  clients: VaultClientFactory;
  auths: () => VaultAuth[];
  lookup: ObjectLookup;
  operatorNamespace: string;
  allowDefaultGlobals: boolean;
  log: CacheLog;
  metrics?: CacheStorageMetrics;
}): Promise<{ restored: number; replacedByLogin: number; dropped: number; failed: number }> {
  const out = { restored: 0, replacedByLogin: 0, dropped: 0, failed: 0 };
  for (const origin of await deps.store.list()) {
    const auth = deps.auths().find((a) => a.metadata.uid === origin.authUid);
    let why: string | undefined;
    let resolved: ReturnType<typeof mergeVaultAuthGlobal> | undefined;
    let connection: ReturnType<typeof resolveConnection> | undefined;
    try {
      if (auth) {
        resolved = mergeVaultAuthGlobal(deps.lookup, auth, deps.operatorNamespace, {
          allowDefaultGlobals: deps.allowDefaultGlobals,
        });
        connection = resolveConnection(deps.lookup, resolved, deps.operatorNamespace);
      }
      why = staleReason(origin, auth, connection);
    } catch (err) {
      why = `its references no longer resolve: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (why || !resolved || !connection) {
      await deps.store.delete(origin.cacheKey);
      deps.metrics?.operation("prune", true);
      deps.log.info({ cacheKey: origin.cacheKey, why }, "dropped stale persisted Vault client");
      out.dropped++;
      continue;
    }
    try {
      const client = await deps.clients.restorePersisted(resolved, connection, origin.providerNamespace);
      if (client?.cacheKey === origin.cacheKey && client.tags.restored) out.restored++;
      else if (client?.cacheKey === origin.cacheKey) {
        // A resource needed the client first, the entry could not be used, and a login
        // took its place (its entry written anew): not a restore.
        out.replacedByLogin++;
      } else {
        // Discarded by the restore, or built for a credential provider that was replaced.
        await deps.store.delete(origin.cacheKey);
        out.dropped++;
      }
    } catch (err) {
      out.failed++;
      deps.log.warn(
        { cacheKey: origin.cacheKey, err: err instanceof Error ? err.message : String(err) },
        "cannot restore persisted Vault client now; will retry on first use",
      );
    }
  }
  return out;
}

/** The `none` model: VSO purges every stored entry at start. */
export async function purgePersistedClients(
  store: SecretClientCacheStore,
  metrics?: CacheStorageMetrics,
): Promise<number> {
  const entries = await store.list();
  for (const e of entries) {
    await store.delete(e.cacheKey);
    metrics?.operation("purge", true);
  }
  return entries.length;
}

/**
 * The persistence the configured model asks for, and what to do once leading:
 * for direct-*, take over the stored clients in the background (a client is
 * also restored before any login for its key, lazily in the factory) and
 * delete the entries of a VaultAuth when it is deleted; for `none`, purge.
 */
export function clientCachePersistence(deps: {
  cfg: OperatorConfig;
  kube: KubeClient;
  hmacKey: Buffer;
  log: CacheLog;
  auths: MultiInformer<VaultAuth>;
  lookup: ObjectLookup;
  clients: () => VaultClientFactory;
  metrics: CacheStorageMetrics;
}): { persistence?: ClientCachePersistence; start(): Promise<void> } {
  const { cfg, log } = deps;
  const store = new SecretClientCacheStore(deps.kube, cfg.operatorNamespace, deps.hmacKey);
  const allowDefaultGlobals = cfg.globalVaultAuthOptions.includes("allow-default-globals");
  const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));
  if (cfg.clientCachePersistenceModel === "none") {
    return {
      async start() {
        await purgePersistedClients(store, deps.metrics).then(
          (n) =>
            n > 0 &&
            log.info({ purged: n }, "client-cache persistence is off: purged persisted Vault clients"),
          (err) => log.warn({ err: errText(err) }, "cannot purge persisted Vault clients"),
        );
      },
    };
  }
  const cipher =
    cfg.clientCachePersistenceModel === "direct-encrypted"
      ? new TransitCipher(
          transitTargetResolver({
            auths: () => deps.auths.list(),
            lookup: deps.lookup,
            clients: deps.clients,
            operatorNamespace: cfg.operatorNamespace,
            allowDefaultGlobals,
          }),
        )
      : undefined;
  return {
    persistence: new ClientCachePersistence(store, { cipher, log, metrics: deps.metrics }),
    async start() {
      void restorePersistedClients({
        store,
        clients: deps.clients(),
        auths: () => deps.auths.list(),
        lookup: deps.lookup,
        operatorNamespace: cfg.operatorNamespace,
        allowDefaultGlobals,
        log,
        metrics: deps.metrics,
      }).then(
        (r) => log.info({ model: cfg.clientCachePersistenceModel, ...r }, "persisted Vault clients restored"),
        (err) => log.warn({ err: errText(err) }, "cannot list persisted Vault clients"),
      );
      deps.auths.on({
        delete: (a) => {
          if (!a.metadata.uid) return;
          void store.deleteForAuth(a.metadata.uid).then(
            (n) => {
              for (let i = 0; i < n; i++) deps.metrics.operation("purge", true);
            },
            () => deps.metrics.operation("purge", false),
          );
        },
      });
    },
  };
}
