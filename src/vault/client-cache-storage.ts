// Persistence of the Vault client cache across restarts (VSO's
// --client-cache-persistence-model): where entries live is the caller's
// business (a ClientCacheStore, Kubernetes Secrets in the operator), how they
// are protected is a TokenCipher (Vault Transit) or nothing. This module saves
// a freshly logged-in session and restores a persisted one after checking with
// Vault (lookup-self, then renew-self) that the token is alive and belongs to
// the expected login. Neither the token nor any part of it is ever logged.

import type { LoginResult } from "./client.ts";
import {
  CacheEntryError,
  decodeEntry,
  encodeEntry,
  loginResponse,
  type PersistedSession,
  type RestoreExpectation,
  restoreVerdict,
  type TokenLookup,
} from "./client-cache-entry.ts";
import { VaultApiError, type VaultHttp } from "./http.ts";

/** What a persisted entry was built from; the store turns it into labels. */
export interface ClientCacheOrigin {
  cacheKey: string;
  authNamespace: string;
  authUid: string;
  authGeneration: number;
  connectionNamespace: string;
  connectionUid: string;
  connectionGeneration: number;
  providerNamespace: string;
  providerUid: string;
}

export interface StoredClientEntry {
  origin: ClientCacheOrigin;
  payload: Buffer;
  /** Name of the VaultAuth whose Transit key encrypted the payload; absent when stored in plaintext. */
  encryptedWith?: string;
}

/** Persistence is misconfigured (e.g. no VaultAuth supplies storage encryption): not worth retrying. */
export class CacheConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CacheConfigError";
  }
}

/** Thrown by a store when an entry fails its integrity check (MAC). */
export class CacheIntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CacheIntegrityError";
  }
}

export interface ClientCacheStore {
  read(cacheKey: string): Promise<StoredClientEntry | undefined>;
  write(entry: StoredClientEntry): Promise<void>;
  /** Deletes an entry; a missing one is not an error. */
  delete(cacheKey: string): Promise<void>;
  list(): Promise<ClientCacheOrigin[]>;
}

export interface TokenCipher {
  /** Name of the VaultAuth whose Transit key is used, recorded on each entry. */
  name(): Promise<string>;
  encrypt(plaintext: Buffer): Promise<Buffer>;
  decrypt(ciphertext: Buffer): Promise<Buffer>;
}

export interface CacheStorageMetrics {
  operation(op: "store" | "restore" | "delete" | "prune" | "purge", ok: boolean): void;
}

export interface CacheLog {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** A failure to talk to Vault or the store that may pass: the caller retries instead of logging in anew. */
export function isTransient(err: unknown): boolean {
  if (
    err instanceof CacheEntryError ||
    err instanceof CacheIntegrityError ||
    err instanceof CacheConfigError
  ) {
    return false;
  }
  if (err instanceof VaultApiError) return err.status === 429 || err.status >= 500;
  return true;
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class ClientCachePersistence {
  readonly store: ClientCacheStore;
  readonly cipher?: TokenCipher;
  private readonly log: CacheLog;
  private readonly now: () => number;
  private readonly metrics?: CacheStorageMetrics;
  /** Per cache key, the last write or delete: they run in order, so a late delete never removes a newer token. */
  private readonly queues = new Map<string, Promise<unknown>>();

  constructor(
    store: ClientCacheStore,
    opts: { cipher?: TokenCipher; log: CacheLog; now?: () => number; metrics?: CacheStorageMetrics },
  ) {
    this.store = store;
    this.cipher = opts.cipher;
    this.log = opts.log;
    this.now = opts.now ?? Date.now;
    this.metrics = opts.metrics;
  }

  private inOrder<T>(cacheKey: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.queues.get(cacheKey) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const settled = next.then(
      () => undefined,
      () => undefined,
    );
    this.queues.set(cacheKey, settled);
    void settled.then(() => {
      if (this.queues.get(cacheKey) === settled) this.queues.delete(cacheKey);
    });
    return next;
  }

  /** Stores a session for later restore. Encrypts first when a cipher is set, so no plaintext token is written. */
  save(origin: ClientCacheOrigin, session: LoginResult) {
    return this.inOrder(origin.cacheKey, async () => {
      try {
        await this.write(origin, session);
        this.metrics?.operation("store", true);
      } catch (err) {
        this.metrics?.operation("store", false);
        throw err;
      }
    });
  }

  /** The login response, as VSO stores it (so VSO can take the token over too). */
  private async write(origin: ClientCacheOrigin, session: LoginResult): Promise<void> {
    const plain = encodeEntry(
      loginResponse(session.response, {
        token: session.token,
        accessor: session.accessor,
        renewable: session.renewable,
        ttlS: session.ttlS ?? session.leaseDurationS,
      }),
    );
    if (this.cipher) {
      const name = await this.cipher.name();
      const payload = await this.cipher.encrypt(plain);
      await this.store.write({ origin, payload, encryptedWith: name });
    } else {
      await this.store.write({ origin, payload: plain });
    }
  }

  discard(cacheKey: string, why: string): Promise<void> {
    return this.inOrder(cacheKey, async () => {
      try {
        await this.store.delete(cacheKey);
        this.metrics?.operation("delete", true);
        this.log.info({ cacheKey, why }, "discarded persisted Vault client");
      } catch (err) {
        this.metrics?.operation("delete", false);
        this.log.warn({ cacheKey, why, err: errText(err) }, "cannot delete persisted Vault client");
      }
    });
  }

  /**
   * The persisted session for a cache key if it is alive and belongs to the
   * expected login, renewed once so that it has its full TTL again; undefined
   * when there is none or it was discarded (its entry is then deleted).
   * Transient failures (Vault or the API server unavailable) are thrown, so
   * the caller retries rather than logging in and overwriting a live token.
   */
  async restore(
    cacheKey: string,
    http: VaultHttp,
    expect: RestoreExpectation,
  ): Promise<LoginResult | undefined> {
    const stored = await this.readEntry(cacheKey);
    if (!stored) return undefined;
    try {
      const session = await this.takeOver(cacheKey, stored, http, expect);
      this.metrics?.operation("restore", session !== undefined);
      return session;
    } catch (err) {
      this.metrics?.operation("restore", false);
      throw err;
    }
  }

  private async takeOver(
    cacheKey: string,
    stored: StoredClientEntry,
    http: VaultHttp,
    expect: RestoreExpectation,
  ): Promise<LoginResult | undefined> {
    let entry: PersistedSession;
    try {
      let plain = stored.payload;
      if (stored.encryptedWith !== undefined) {
        if (!this.cipher)
          throw new CacheEntryError("entry is encrypted but no storage encryption is configured");
        plain = await this.cipher.decrypt(stored.payload);
      } else if (this.cipher) {
        throw new CacheEntryError("entry is not encrypted but storage encryption is required");
      }
      entry = decodeEntry(plain, cacheKey);
    } catch (err) {
      if (isTransient(err)) throw err;
      await this.discard(cacheKey, `cannot decrypt or decode: ${errText(err)}`);
      return undefined;
    }
    const ns = expect.vaultNamespace;
    let lookup: TokenLookup;
    try {
      const res = await http.call<{ data?: TokenLookup }>("GET", "auth/token/lookup-self", {
        token: entry.token,
        namespace: ns,
      });
      lookup = res.json?.data ?? {};
    } catch (err) {
      if (isTransient(err)) throw err;
      await this.discard(cacheKey, `lookup-self failed: ${errText(err)}`);
      return undefined;
    }
    const verdict = restoreVerdict(entry, lookup, expect, this.now());
    if (!verdict.use) {
      await this.discard(cacheKey, verdict.reason);
      return undefined;
    }
    // The previous process stopped renewing: renew now so the token has its full TTL again.
    let leaseDurationS: number;
    let renewable: boolean;
    try {
      const res = await http.call<{ auth?: { lease_duration: number; renewable: boolean } }>(
        "PUT",
        "auth/token/renew-self",
        { token: entry.token, namespace: ns, body: { increment: `${entry.ttlS}s` } },
      );
      leaseDurationS = res.json?.auth?.lease_duration ?? verdict.remainingS;
      renewable = res.json?.auth?.renewable ?? true;
    } catch (err) {
      if (isTransient(err)) throw err;
      await this.discard(cacheKey, `renew-self failed: ${errText(err)}`);
      return undefined;
    }
    this.log.info({ cacheKey, ttl: leaseDurationS }, "restored persisted Vault client");
    return {
      token: entry.token,
      accessor: entry.accessor,
      renewable,
      leaseDurationS,
      ttlS: entry.ttlS,
      response: entry.response,
    };
  }

  /** The stored entry; one that fails its integrity check is discarded. A store that cannot be read is an error. */
  private async readEntry(cacheKey: string): Promise<StoredClientEntry | undefined> {
    try {
      return await this.store.read(cacheKey);
    } catch (err) {
      if (!(err instanceof CacheIntegrityError)) throw err;
      this.metrics?.operation("restore", false);
      await this.discard(cacheKey, err.message);
      return undefined;
    }
  }
}
