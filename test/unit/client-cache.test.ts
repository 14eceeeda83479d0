// The pure parts of client-cache persistence: the cache key, the entry's
// serialisation, the restore decision (with an injected clock), the Secret's
// labels and MAC, and which stored entries are stale. Expected digests were
// computed with Python's hashlib/hmac, independently of this code.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { VaultAuth } from "../../src/api/index.ts";
import {
  cacheEntryMAC,
  cacheSecretLabels,
  cacheSecretName,
  originFromLabels,
  staleReason,
} from "../../src/operator/client-cache-store.ts";
import {
  CacheEntryError,
  decodeEntry,
  encodeEntry,
  loginPath,
  loginResponse,
  MIN_REMAINING_S,
  type PersistedSession,
  restoreVerdict,
  shouldPersist,
  type TokenLookup,
} from "../../src/vault/client-cache-entry.ts";
import {
  CacheConfigError,
  CacheIntegrityError,
  ClientCachePersistence,
  type ClientCacheStore,
  isTransient,
  type StoredClientEntry,
} from "../../src/vault/client-cache-storage.ts";
import { storedCiphertext } from "../../src/vault/client-cache-transit.ts";
import { clientCacheKey } from "../../src/vault/client-factory.ts";
import { VaultApiError, VaultHttp } from "../../src/vault/http.ts";

const AUTH_UID = "11111111-2222-3333-4444-555555555555";
const CONN_UID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
const SA_UID = "99999999-8888-7777-6666-000000000000";
const TOKEN = "hvs.CAESIJ-sentinel-token-value-0123456789";

test("cache key: <method>-<first 7 + last 4 bytes of sha256 hex>, new key on a generation bump", () => {
  assert.equal(
    clientCacheKey("kubernetes", AUTH_UID, 3, CONN_UID, 1, SA_UID),
    "kubernetes-acb9c260dcc9b8b947cc51",
  );
  assert.equal(
    clientCacheKey("kubernetes", AUTH_UID, 4, CONN_UID, 1, SA_UID),
    "kubernetes-8ba2e800e019090d6ffd5f",
  );
  assert.equal(clientCacheKey("appRole", AUTH_UID, 3, CONN_UID, 1, SA_UID), "appRole-acb9c260dcc9b8b947cc51");
});

/**
 * A stored entry as VSO v1.5.0 writes it: encoding/json's Marshal of the
 * vault/api Secret of a Kubernetes login (every field, in the struct's order).
 */
const VSO_ENTRY = JSON.stringify({
  request_id: "5c1d3c1e-6d7f-4c4e-9a55-6c1f0e0b6a11",
  lease_id: "",
  lease_duration: 0,
  renewable: false,
  data: null,
  warnings: null,
  auth: {
    client_token: TOKEN,
    accessor: "acc-1",
    policies: ["default", "app"],
    token_policies: ["default", "app"],
    identity_policies: null,
    metadata: { role: "app", service_account_name: "default", service_account_uid: SA_UID },
    orphan: true,
    entity_id: "e-1",
    lease_duration: 20,
    renewable: true,
    mfa_requirement: null,
  },
});

const entry = (over: Partial<PersistedSession> = {}): PersistedSession => ({
  ...decodeEntry(Buffer.from(VSO_ENTRY), "kubernetes-acb9c260dcc9b8b947cc51"),
  ...over,
});

/** vso-ts's format before issue 21 (still read, for one release). */
const legacy = (over: Record<string, unknown> = {}) =>
  Buffer.from(
    JSON.stringify({
      version: 1,
      cacheKey: "kubernetes-acb9c260dcc9b8b947cc51",
      token: TOKEN,
      accessor: "acc-1",
      renewable: true,
      ttlS: 20,
      issuedAtMs: 1_700_000_000_000,
      authPath: "auth/kubernetes/login",
      vaultNamespace: "team-a",
      ...over,
    }),
  );

test("VSO's entry (a login response) is read, and written back byte for byte", () => {
  const e = decodeEntry(Buffer.from(VSO_ENTRY), "kubernetes-any");
  assert.equal(e.token, TOKEN);
  assert.equal(e.accessor, "acc-1");
  assert.equal(e.ttlS, 20);
  assert.equal(e.renewable, true);
  assert.equal(e.authPath, undefined, "VSO's entry does not record the login path");
  assert.equal(encodeEntry(e.response).toString(), VSO_ENTRY);
});

test("a login response from Vault is stored in the shape VSO's api.Secret marshals to", () => {
  const fromVault = {
    request_id: "r-1",
    lease_id: "",
    renewable: false,
    lease_duration: 0,
    data: null,
    wrap_info: null,
    warnings: null,
    auth: {
      client_token: TOKEN,
      accessor: "acc-1",
      policies: ["default"],
      token_policies: ["default"],
      metadata: { role: "app" },
      lease_duration: 20,
      renewable: true,
      entity_id: "e-1",
      token_type: "service",
      orphan: true,
      mfa_requirement: null,
      num_uses: 0,
    },
    mount_type: "",
  };
  const stored = JSON.parse(
    encodeEntry(
      loginResponse(fromVault, { token: TOKEN, accessor: "acc-1", renewable: true, ttlS: 20 }),
    ).toString(),
  );
  assert.deepEqual(Object.keys(stored), Object.keys(JSON.parse(VSO_ENTRY)));
  assert.deepEqual(Object.keys(stored.auth), Object.keys(JSON.parse(VSO_ENTRY).auth));
  assert.deepEqual(stored.auth.metadata, { role: "app" });
  assert.equal(stored.auth.identity_policies, null);
  const back = decodeEntry(Buffer.from(JSON.stringify(stored)), "kubernetes-any");
  assert.equal(back.token, TOKEN);
  assert.equal(back.ttlS, 20);
});

test("vso-ts's earlier entry is still read; malformed entries are refused without echoing their content", () => {
  const old = decodeEntry(legacy(), "kubernetes-acb9c260dcc9b8b947cc51");
  assert.equal(old.token, TOKEN);
  assert.equal(old.authPath, "auth/kubernetes/login");
  assert.equal(old.response.auth.client_token, TOKEN, "rewritten in VSO's format when saved again");
  const auth = JSON.parse(VSO_ENTRY).auth;
  const vso = (a: Record<string, unknown>) => Buffer.from(JSON.stringify({ auth: { ...auth, ...a } }));
  const bad: [Buffer, RegExp][] = [
    [legacy(), /another cache key/],
    [Buffer.from(`{"auth":{"client_token":"${TOKEN}"`), /not valid JSON/],
    [legacy({ version: 2 }), /unsupported entry version 2/],
    [legacy({ accessor: "" }), /lacks token, accessor/],
    [legacy({ ttlS: -1 }), /lacks ttlS/],
    [legacy({ renewable: "yes" }), /lacks ttlS, issuedAtMs or renewable/],
    [Buffer.from(JSON.stringify({ data: { token: TOKEN } })), /not a Vault login response/],
    [vso({ accessor: "" }), /lacks auth.client_token or auth.accessor/],
    [vso({ lease_duration: "20s" }), /lacks auth.lease_duration/],
    [Buffer.from(`[${JSON.stringify(TOKEN)}]`), /not an object/],
  ];
  for (const [i, [bytes, msg]] of bad.entries()) {
    const key = i === 0 ? "kubernetes-other" : "kubernetes-acb9c260dcc9b8b947cc51";
    assert.throws(
      () => decodeEntry(bytes, key),
      (err: Error) =>
        err instanceof CacheEntryError && msg.test(err.message) && !err.message.includes("sentinel"),
      msg.source,
    );
  }
});

test("only renewable tokens with a TTL are persisted", () => {
  assert.equal(shouldPersist({ renewable: true, leaseDurationS: 20 }), true);
  assert.equal(shouldPersist({ renewable: false, leaseDurationS: 20 }), false);
  assert.equal(shouldPersist({ renewable: true, leaseDurationS: 0 }), false);
  assert.equal(loginPath("/kubernetes/"), "auth/kubernetes/login");
  assert.equal(loginPath("team/k8s"), "auth/team/k8s/login");
});

test("restore verdict: identity checks, then the remaining TTL by ttl and expire_time (injected clock)", () => {
  const now = Date.parse("2026-11-29T12:00:00Z");
  const expect = { authPath: "auth/kubernetes/login", role: "app", providerUid: SA_UID };
  const alive: TokenLookup = {
    accessor: "acc-1",
    path: "auth/kubernetes/login",
    ttl: 15,
    expire_time: "2026-11-29T12:00:12Z",
    renewable: true,
    meta: { role: "app", service_account_uid: SA_UID },
  };
  const cases: [string, TokenLookup, PersistedSession, number, string | number][] = [
    ["alive: the smaller of ttl and expire_time-now", alive, entry(), now, 12],
    ["alive, ttl only", { ...alive, expire_time: null }, entry(), now, 15],
    ["another accessor", { ...alive, accessor: "acc-2" }, entry(), now, "accessor does not match"],
    ["another mount", { ...alive, path: "auth/other/login" }, entry(), now, "expected auth mount"],
    ["entry for another mount", alive, entry({ authPath: "auth/other/login" }), now, "expected auth mount"],
    ["another role", { ...alive, meta: { role: "admin" } }, entry(), now, "another role"],
    [
      "another SA",
      { ...alive, meta: { role: "app", service_account_uid: "x" } },
      entry(),
      now,
      "service account",
    ],
    ["not renewable", { ...alive, renewable: false }, entry(), now, "not renewable"],
    ["expired by the clock although ttl says 15", alive, entry(), now + 13_000, "expired"],
    ["about to expire", alive, entry(), now + (12 - MIN_REMAINING_S + 1) * 1000, "expires in"],
    ["non-expiring token", { ...alive, ttl: 0, expire_time: null }, entry(), now, "expired"],
    ["no meta recorded: identity by accessor and path", { ...alive, meta: null }, entry(), now, 12],
  ];
  for (const [name, lookup, e, at, want] of cases) {
    const v = restoreVerdict(e, lookup, expect, at);
    if (typeof want === "number") assert.deepEqual(v, { use: true, remainingS: want }, name);
    else assert.ok(!v.use && v.reason.includes(want), `${name}: ${JSON.stringify(v)}`);
  }
});

test("transient errors are retried, integrity and configuration problems discard the entry", () => {
  assert.equal(isTransient(new VaultApiError("GET", "auth/token/lookup-self", 503, [])), true);
  assert.equal(isTransient(new VaultApiError("GET", "auth/token/lookup-self", 429, [])), true);
  assert.equal(isTransient(new Error("ECONNREFUSED")), true);
  assert.equal(isTransient(new VaultApiError("GET", "auth/token/lookup-self", 403, [])), false);
  assert.equal(isTransient(new VaultApiError("PUT", "transit/decrypt/k", 400, [])), false);
  assert.equal(isTransient(new CacheIntegrityError("mac")), false);
  assert.equal(isTransient(new CacheConfigError("no transit auth")), false);
  assert.equal(isTransient(new CacheEntryError("bad")), false);
});

const origin = {
  cacheKey: "kubernetes-acb9c260dcc9b8b947cc51",
  authNamespace: "vso",
  authUid: AUTH_UID,
  authGeneration: 3,
  connectionNamespace: "vso",
  connectionUid: CONN_UID,
  connectionGeneration: 1,
  providerNamespace: "apps",
  providerUid: SA_UID,
};

test("Secret name and VSO's labels, round-tripped; encrypted entries name their Transit VaultAuth", () => {
  assert.equal(cacheSecretName(origin.cacheKey), "vso-cc-kubernetes-acb9c260dcc9b8b947cc51");
  const plain = cacheSecretLabels(origin);
  assert.deepEqual(plain, {
    "app.kubernetes.io/name": "vault-secrets-operator",
    "app.kubernetes.io/managed-by": "vso",
    "app.kubernetes.io/component": "client-cache-storage",
    cacheKey: origin.cacheKey,
    "auth/namespace": "vso",
    "auth/UID": AUTH_UID,
    "auth/generation": "3",
    "connection/namespace": "vso",
    "connection/UID": CONN_UID,
    "connection/generation": "1",
    "provider/UID": SA_UID,
    "provider/namespace": "apps",
  });
  assert.deepEqual(originFromLabels(plain), origin);
  const enc = cacheSecretLabels(origin, "default");
  assert.equal(enc.encrypted, "true");
  assert.equal(enc.vaultTransitRef, "default");
});

test("messageMAC = HMAC-SHA256(key, name + cacheKey + entry)", () => {
  const key = Buffer.alloc(16, "k");
  const mac = cacheEntryMAC(key, "vso-cc-kubernetes-abc", "kubernetes-abc", Buffer.from("payload"));
  assert.equal(mac.toString("hex"), "9b8f5f1f395be42643f51c7153fcc7d1bfd7d295f9c7881a76267fecb7743e66");
  assert.notDeepEqual(
    cacheEntryMAC(key, "vso-cc-kubernetes-abd", "kubernetes-abc", Buffer.from("payload")),
    mac,
  );
});

test("stale entries: VaultAuth or VaultConnection gone, replaced, changed or being deleted", () => {
  const auth = (over: Partial<VaultAuth["metadata"]> = {}) =>
    ({ metadata: { name: "default", namespace: "vso", uid: AUTH_UID, generation: 3, ...over } }) as VaultAuth;
  const conn = (over: { uid?: string; generation?: number } = {}) => ({
    metadata: { uid: CONN_UID, generation: 1, ...over },
  });
  assert.equal(staleReason(origin, auth(), conn()), undefined);
  assert.match(staleReason(origin, undefined, conn()) ?? "", /VaultAuth no longer exists/);
  assert.match(staleReason(origin, auth({ uid: "recreated" }), conn()) ?? "", /VaultAuth no longer exists/);
  assert.match(staleReason(origin, auth({ generation: 4 }), conn()) ?? "", /VaultAuth changed/);
  assert.match(
    staleReason(origin, auth({ deletionTimestamp: new Date("2026-11-29T00:00:00Z") }), conn()) ?? "",
    /being deleted/,
  );
  assert.match(staleReason(origin, auth(), undefined) ?? "", /VaultConnection no longer exists/);
  assert.match(staleReason(origin, auth(), conn({ generation: 2 })) ?? "", /VaultConnection changed/);
});

/** An in-memory store that records what it was asked, with an optional delay per operation. */
class MemoryStore implements ClientCacheStore {
  readonly entries = new Map<string, StoredClientEntry>();
  readonly ops: string[] = [];
  delayMs: Record<string, number> = {};
  failRead?: Error;
  private async pause(op: string) {
    const ms = this.delayMs[op] ?? 0;
    if (ms) await new Promise((r) => setTimeout(r, ms));
  }
  async read(cacheKey: string) {
    this.ops.push(`read ${cacheKey}`);
    if (this.failRead) throw this.failRead;
    return this.entries.get(cacheKey);
  }
  async write(entry: StoredClientEntry) {
    await this.pause("write");
    this.ops.push(`write ${entry.origin.cacheKey}`);
    this.entries.set(entry.origin.cacheKey, entry);
  }
  async delete(cacheKey: string) {
    await this.pause("delete");
    this.ops.push(`delete ${cacheKey}`);
    this.entries.delete(cacheKey);
  }
  async list() {
    return [...this.entries.values()].map((e) => e.origin);
  }
}

const quietLog = { info() {}, warn() {} };
/** Vault must not be asked when the entry itself is unusable. */
const noVault = new VaultHttp({ address: "http://127.0.0.1:1" });
noVault.call = async () => {
  throw new Error("Vault was contacted");
};
const session = { token: TOKEN, accessor: "acc-1", renewable: true, leaseDurationS: 20 };
const reversing = {
  name: async () => "default",
  encrypt: async (p: Buffer) => Buffer.from(`vault:v1:${Buffer.from(p).reverse().toString("base64")}`),
  decrypt: async (c: Buffer) => Buffer.from(c.toString().slice(9), "base64").reverse(),
};

test("persistence: with a cipher the store only ever sees ciphertext; writes and deletes of a key keep their order", async () => {
  const store = new MemoryStore();
  const p = new ClientCachePersistence(store, { cipher: reversing, log: quietLog });
  await p.save(origin, session);
  const e = store.entries.get(origin.cacheKey);
  assert.equal(e?.encryptedWith, "default");
  assert.ok(e && !e.payload.toString("latin1").includes("sentinel"));
  assert.equal(decodeEntry(await reversing.decrypt(e.payload), origin.cacheKey).token, TOKEN);

  // A slow delete issued before a save must not remove the newer token.
  store.delayMs = { delete: 50 };
  const d = p.discard(origin.cacheKey, "renewal refused");
  const s = p.save(origin, { ...session, accessor: "acc-2" });
  await Promise.all([d, s]);
  assert.deepEqual(store.ops.slice(-2), [`delete ${origin.cacheKey}`, `write ${origin.cacheKey}`]);
  const last = store.entries.get(origin.cacheKey);
  assert.ok(last);
  assert.equal(decodeEntry(await reversing.decrypt(last.payload), origin.cacheKey).accessor, "acc-2");
});

test("restore: unusable entries are deleted without asking Vault; an unavailable store is an error, not a discard", async () => {
  const cases: [string, (s: MemoryStore) => void, boolean][] = [
    [
      "plaintext entry while encryption is required",
      (s) => s.entries.set(origin.cacheKey, { origin, payload: encodeEntry(entry().response) }),
      true,
    ],
    [
      "ciphertext that does not decode",
      (s) =>
        s.entries.set(origin.cacheKey, {
          origin,
          payload: Buffer.from("vault:v1:AAAA"),
          encryptedWith: "default",
        }),
      true,
    ],
  ];
  for (const [name, seed] of cases) {
    const store = new MemoryStore();
    seed(store);
    const p = new ClientCachePersistence(store, { cipher: reversing, log: quietLog });
    assert.equal(
      await p.restore(origin.cacheKey, noVault, { authPath: "auth/kubernetes/login" }),
      undefined,
      name,
    );
    assert.equal(store.entries.has(origin.cacheKey), false, `${name}: entry deleted`);
  }
  const plain = new MemoryStore();
  plain.entries.set(origin.cacheKey, { origin, payload: Buffer.from("x"), encryptedWith: "default" });
  const unencrypted = new ClientCachePersistence(plain, { log: quietLog });
  assert.equal(
    await unencrypted.restore(origin.cacheKey, noVault, { authPath: "auth/kubernetes/login" }),
    undefined,
  );
  assert.equal(plain.entries.size, 0, "an encrypted entry without a cipher is discarded");

  const tampered = new MemoryStore();
  tampered.failRead = new CacheIntegrityError("fails its messageMAC check");
  tampered.entries.set(origin.cacheKey, { origin, payload: Buffer.from("x") });
  await new ClientCachePersistence(tampered, { log: quietLog }).restore(origin.cacheKey, noVault, {
    authPath: "auth/kubernetes/login",
  });
  assert.deepEqual(tampered.ops, [`read ${origin.cacheKey}`, `delete ${origin.cacheKey}`]);

  const down = new MemoryStore();
  down.failRead = new Error("connect ECONNREFUSED");
  down.entries.set(origin.cacheKey, { origin, payload: Buffer.from("x") });
  await assert.rejects(
    new ClientCachePersistence(down, { log: quietLog }).restore(origin.cacheKey, noVault, {
      authPath: "auth/kubernetes/login",
    }),
    /ECONNREFUSED/,
  );
  assert.equal(down.entries.size, 1, "kept for a retry");
});

test("Transit: the stored payload is VSO's wrapper of the encrypt response; a bare ciphertext is still read", () => {
  const c = "vault:v1:QUJD";
  assert.equal(storedCiphertext(Buffer.from(JSON.stringify({ ciphertext: c, key_version: 1 }))), c);
  assert.equal(storedCiphertext(Buffer.from(c)), c);
  assert.throws(() => storedCiphertext(Buffer.from('{"key_version":1}')), CacheEntryError);
  assert.throws(() => storedCiphertext(Buffer.from('{"ciphertext":')), CacheEntryError);
});
