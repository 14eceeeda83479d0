// Client-cache persistence against the real servers. A database lease is a
// child of the Vault token that created it; the operator's auth role here
// issues tokens that live 30 s unless renewed, the lease lives 4 minutes.
// With direct-encrypted the token is stored encrypted with Transit in a
// vso-cc-<cacheKey> Secret, and an operator SIGKILLed and restarted takes it
// over and renews it: past the old token's TTL the lease and the PostgreSQL
// login still work. With `none` the same restart loses them. Entries that fail
// their MAC or whose token Vault no longer knows are replaced by a fresh login,
// entries go with their VaultAuth, and no piece of a token reaches the logs.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { describe, type TestContext, test } from "node:test";
import { blake2b } from "@noble/hashes/blake2.js";
import { REPO_ROOT } from "../../src/dev/paths.ts";
import { CORE, type KubeObject } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { dbSetup, vds } from "../support/db.ts";
import { eventually, isolatedNamespace, pgQuery, type TestEnv, testEnv } from "../support/env.ts";
import { decoded, getStatus, type SecretLike, waitForSecret } from "../support/operator.ts";

const TOKEN_TTL_S = 30;

type Entry = KubeObject & SecretLike;

interface Fixture {
  env: TestEnv;
  ns: string;
  role: string;
  transitKey: string;
  logs: string[];
}

/** Database role, short-lived operator tokens, a Transit key the operator may use, and VaultAuth `default` set up for it. */
async function fixture(t: TestContext, prefix: string, opts = { labelTransitAuth: true }): Promise<Fixture> {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, prefix);
  const { role } = await dbSetup(env, ns, "4m", "30m");
  const transitKey = `cc-${ns}`;
  const root = { token: env.rootToken };
  await env.vault.call("POST", `transit/keys/${transitKey}`, { ...root, body: {} });
  await env.vault.call("PUT", `sys/policies/acl/cc-${ns}`, {
    ...root,
    body: {
      policy: [
        `path "transit/encrypt/${transitKey}" { capabilities = ["update"] }`,
        `path "transit/decrypt/${transitKey}" { capabilities = ["update"] }`,
      ].join("\n"),
    },
  });
  // dbSetup's auth role, now with 30 s tokens (renewable up to 1 h) and the Transit policy.
  await env.vault.call("POST", `auth/kubernetes/role/db-${ns}`, {
    ...root,
    body: {
      bound_service_account_names: ["app"],
      bound_service_account_namespaces: [ns],
      token_policies: [`db-${ns}`, `cc-${ns}`],
      token_ttl: `${TOKEN_TTL_S}s`,
      token_max_ttl: "1h",
    },
  });
  await env.kube.patch(VSO.VaultAuth, ns, "default", {
    metadata: { labels: opts.labelTransitAuth ? { cacheStorageEncryption: "true" } : {} },
    spec: { storageEncryption: { mount: "transit", keyName: transitKey } },
  });
  return { env, ns, role, transitKey, logs: [] };
}

/**
 * The operator as a process (as spawnOperator runs it), with debug logs
 * collected in `f.logs` so the test can check that no token reaches them.
 */
function operator(t: TestContext, f: Fixture, model: string): { proc: ChildProcess; kill(): Promise<void> } {
  const proc = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      join(REPO_ROOT, "src/cli/main.ts"),
      "run",
      `--kubeconfig=${f.env.state.kubeconfig}`,
      `--operator-namespace=${f.ns}`,
      `--watch-namespaces=${f.ns}`,
      "--metrics-bind-address=127.0.0.1:0",
      "--health-probe-bind-address=0",
      "--leader-elect=false",
      "--zap-log-level=debug",
      `--client-cache-persistence-model=${model}`,
    ],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, OPERATOR_POD_UID: `pod-${Date.now()}` } },
  );
  proc.stdout?.on("data", (d: Buffer) => f.logs.push(d.toString("utf8")));
  proc.stderr?.on("data", (d: Buffer) => f.logs.push(d.toString("utf8")));
  t.after(() => proc.kill("SIGKILL"));
  return {
    proc,
    async kill() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once("exit", r));
      proc.kill("SIGKILL");
      await exited;
    },
  };
}

/** A sample of the latest operator process's metrics (its address is in its log). */
async function metric(f: Fixture, name: string, labels: string): Promise<number | undefined> {
  const ports = [...f.logs.join("").matchAll(/"addr":"127\.0\.0\.1:(\d+)"/g)];
  const port = ports.at(-1)?.[1];
  if (!port) return undefined;
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(" ").at(-1)) : undefined;
}

/** Fails if the operator's output holds any 8-character piece of a token. */
function assertNoTokenInLogs(f: Fixture, tokens: string[]) {
  const logs = f.logs.join("");
  assert.ok(logs.includes("restored persisted Vault client"), "the logs were captured");
  for (const token of tokens) {
    for (let i = 0; i + 8 <= token.length; i++) {
      const piece = token.slice(i, i + 8);
      assert.ok(!logs.includes(piece), `a fragment of a token (at ${i}) appears in the operator's logs`);
    }
  }
}

/**
 * SIGKILLs the operator right after it renewed its token, so the restarted
 * process has the token's whole TTL (30 s) to take it over, whatever the
 * machine's load; returns the token's expiry at the kill.
 */
async function killAfterRenewal(
  f: Fixture,
  op: { kill(): Promise<void> },
  accessor: string,
): Promise<string> {
  const first = await tokenByAccessor(f.env, accessor);
  assert.ok(first, "the token is alive before the kill");
  await eventually(
    "a renewal of the operator's token",
    async () => {
      const now = await tokenByAccessor(f.env, accessor);
      return now && Date.parse(now.expire_time) > Date.parse(first.expire_time) + 1000;
    },
    TOKEN_TTL_S * 1000,
    200,
  );
  await op.kill();
  const atKill = await tokenByAccessor(f.env, accessor);
  assert.ok(atKill, "the token is alive at the kill");
  return atKill.expire_time;
}

async function tokenByAccessor(env: TestEnv, accessor: string) {
  const res = await env.vault.call<{
    data?: { ttl: number; expire_time: string; path: string; creation_ttl: number };
  }>("PUT", "auth/token/lookup-accessor", { token: env.rootToken, body: { accessor }, accept: [400, 403] });
  return res.status === 200 ? res.json?.data : undefined;
}

async function leaseAlive(env: TestEnv, leaseId: string): Promise<number | undefined> {
  const res = await env.vault.call<{ data?: { ttl: number } }>("PUT", "sys/leases/lookup", {
    token: env.rootToken,
    body: { lease_id: leaseId },
    accept: [400],
  });
  return res.status === 200 ? res.json?.data?.ttl : undefined;
}

async function syncedCreds(f: Fixture) {
  await f.env.kube.create(VSO.VaultDynamicSecret, f.ns, vds("app-db", { path: `creds/${f.role}` }));
  const creds = decoded(await waitForSecret(f.env, f.ns, "app-db", () => true, 45_000));
  // The Secret is written before the status commit that records the client: wait for that commit.
  const st = await eventually("status recording the lease and the client", async () => {
    const s = await getStatus(f.env, "VaultDynamicSecret", f.ns, "app-db");
    return (s.secretLease as { id?: string } | undefined)?.id &&
      (s.vaultClientMeta as { cacheKey?: string } | undefined)?.cacheKey
      ? s
      : null;
  });
  const leaseId = (st.secretLease as { id: string }).id;
  const meta = st.vaultClientMeta as { cacheKey: string; id: string };
  assert.ok((await pgQuery(f.env, creds.username, creds.password, "SELECT 1")).ok, "fresh credentials work");
  return { creds, leaseId, meta };
}

/** The token in a persisted entry: VSO's format, the JSON of the Vault login response. */
function tokenOf(plaintext: Buffer | string): { token: string; accessor: string } {
  const r = JSON.parse(plaintext.toString()) as { auth: { client_token: string; accessor: string } };
  return { token: r.auth.client_token, accessor: r.auth.accessor };
}

/** Decrypts a persisted entry (VSO's wrapper of a Transit ciphertext) with the root token, as only a Transit key holder can. */
async function decryptEntry(f: Fixture, secret: SecretLike) {
  const { ciphertext } = JSON.parse(Buffer.from(secret.data?.secret ?? "", "base64").toString("utf8")) as {
    ciphertext: string;
  };
  const res = await f.env.vault.call<{ data: { plaintext: string } }>(
    "PUT",
    `transit/decrypt/${f.transitKey}`,
    {
      token: f.env.rootToken,
      body: { ciphertext },
    },
  );
  return tokenOf(Buffer.from(res.json?.data.plaintext ?? "", "base64"));
}

const idOf = (accessor: string) =>
  Buffer.from(blake2b(new TextEncoder().encode(accessor), { dkLen: 32 })).toString("hex");

/** Waits until the token, no longer renewed by the killed process, is past the expiry it had at the kill. */
async function waitPastExpiry(t: TestContext, expireTime: string) {
  const wait = Date.parse(expireTime) + 3000 - Date.now();
  t.diagnostic(`waiting ${Math.max(0, wait)} ms, past the old token's expiry at the kill (${expireTime})`);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}

// The cases are independent (own namespace, own operator watching only it) and
// mostly wait for token TTLs to pass, so they run side by side.
describe("client cache persistence", { concurrency: true }, () => {
  test("direct-encrypted: the token is stored encrypted, taken over after SIGKILL, and the lease outlives the old token's TTL", async (t) => {
    const f = await fixture(t, "cc-enc");
    const op = operator(t, f, "direct-encrypted");
    const { creds, leaseId, meta } = await syncedCreds(f);

    // (1) The persisted entry: VSO's name and labels, Transit ciphertext, no plaintext token.
    const name = `vso-cc-${meta.cacheKey}`;
    const stored = await eventually("the persisted entry", () =>
      f.env.kube.getOrNull<Entry>(CORE.secrets, f.ns, name),
    );
    const auth = await f.env.kube.get(VSO.VaultAuth, f.ns, "default");
    const sa = await f.env.kube.get(CORE.serviceaccounts, f.ns, "app");
    assert.deepEqual(
      Object.fromEntries(
        [
          "app.kubernetes.io/component",
          "app.kubernetes.io/managed-by",
          "cacheKey",
          "auth/UID",
          "auth/namespace",
          "provider/UID",
          "provider/namespace",
          "encrypted",
          "vaultTransitRef",
        ].map((k) => [k, stored.metadata.labels?.[k]]),
      ),
      {
        "app.kubernetes.io/component": "client-cache-storage",
        "app.kubernetes.io/managed-by": "vso",
        cacheKey: meta.cacheKey,
        "auth/UID": auth.metadata.uid,
        "auth/namespace": f.ns,
        "provider/UID": sa.metadata.uid,
        "provider/namespace": f.ns,
        encrypted: "true",
        vaultTransitRef: "default",
      },
    );
    const raw = JSON.parse(Buffer.from(stored.data?.secret ?? "", "base64").toString("utf8"));
    assert.match(raw.ciphertext, /^vault:v1:/, "data.secret is VSO's wrapper of the Transit ciphertext");
    assert.equal(raw.key_version, 1);
    assert.equal((stored as { immutable?: boolean }).immutable, true, "immutable, as VSO stores it");
    const entry = await decryptEntry(f, stored);
    assert.equal(idOf(entry.accessor), meta.id, "the stored token is the one the VaultDynamicSecret used");
    const everything =
      JSON.stringify(stored) +
      Object.values(stored.data ?? {})
        .map((v) => Buffer.from(v, "base64").toString("latin1"))
        .join("");
    assert.ok(
      entry.token.length > 10 && !everything.includes(entry.token),
      "no plaintext token in the Secret",
    );
    assert.ok(!everything.includes(Buffer.from(entry.token).toString("base64")), "nor its base64");
    const before = await tokenByAccessor(f.env, entry.accessor);
    assert.equal(before?.creation_ttl, TOKEN_TTL_S);

    // (2) SIGKILL, restart, wait past the old token's TTL.
    const expiryAtKill = await killAfterRenewal(f, op, entry.accessor);
    const restartedAt = Date.now();
    const restarted = operator(t, f, "direct-encrypted");
    await eventually(
      "the restarted operator taking the token over",
      async () => f.logs.join("").includes("restored persisted Vault client"),
      TOKEN_TTL_S * 1000,
      100,
    );
    t.diagnostic(`token taken over ${Date.now() - restartedAt} ms after the restart`);
    assert.equal(await metric(f, "vso_client_cache_storage_operations_total", 'operation="restore"'), 1);
    assert.equal(
      await metric(f, "vso_client_cache_storage_operations_errors_total", 'operation="restore"'),
      undefined,
    );
    await waitPastExpiry(t, expiryAtKill);
    const after = await tokenByAccessor(f.env, entry.accessor);
    assert.ok(after && after.ttl > 0, "the old token is alive: the restarted operator renews it");
    assert.ok(Date.parse(after.expire_time) > Date.parse(expiryAtKill), "renewed after the restart");
    const ttl = await leaseAlive(f.env, leaseId);
    assert.ok(ttl !== undefined && ttl > 0, `lease ${leaseId} is alive (sys/leases/lookup)`);
    const login = await pgQuery(f.env, creds.username, creds.password, "SELECT 1");
    assert.ok(login.ok, `the credentials still log in to PostgreSQL: ${login.ok ? "" : login.error}`);
    const st = await getStatus(f.env, "VaultDynamicSecret", f.ns, "app-db");
    assert.equal((st.secretLease as { id: string }).id, leaseId, "no new lease was issued");
    assert.equal(decoded(await f.env.kube.get(CORE.secrets, f.ns, "app-db")).username, creds.username);
    const kept = await decryptEntry(f, await f.env.kube.get<Entry>(CORE.secrets, f.ns, name));
    assert.equal(kept.accessor, entry.accessor, "no new login replaced the persisted token");

    // (3) A persisted token that Vault no longer knows is discarded and replaced by a fresh login.
    await restarted.kill();
    await f.env.vault.call("PUT", "auth/token/revoke-accessor", {
      token: f.env.rootToken,
      body: { accessor: entry.accessor },
    });
    operator(t, f, "direct-encrypted");
    const replaced = await eventually(
      "a fresh token in the persisted entry",
      async () => {
        const s = await f.env.kube.getOrNull<Entry>(CORE.secrets, f.ns, name);
        if (!s) return null;
        const e = await decryptEntry(f, s);
        return e.accessor !== entry.accessor ? e : null;
      },
      45_000,
      500,
    );
    assert.ok((await tokenByAccessor(f.env, replaced.accessor))?.ttl, "the new token is alive");
    const replacedToken = (await decryptEntry(f, await f.env.kube.get<Entry>(CORE.secrets, f.ns, name)))
      .token;

    // (4) Deleting the VaultAuth deletes its persisted clients.
    await f.env.kube.delete(VSO.VaultAuth, f.ns, "default");
    await eventually(
      "the persisted entry deleted with its VaultAuth",
      async () => (await f.env.kube.getOrNull(CORE.secrets, f.ns, name)) === null,
      20_000,
    );
    assertNoTokenInLogs(f, [entry.token, replacedToken]);
  });

  test("none: after the same restart the lease is replaced before the old token dies (issue 18)", async (t) => {
    const f = await fixture(t, "cc-none");
    const op = operator(t, f, "none");
    const { creds, leaseId, meta } = await syncedCreds(f);
    const none = await f.env.kube.list(CORE.secrets, f.ns, {
      labelSelector: "app.kubernetes.io/component=client-cache-storage",
    });
    assert.equal(none.items.length, 0, "nothing is persisted");
    const accessor = await eventually("the operator's token", async () => {
      const res = await f.env.vault.call<{ data?: { keys?: string[] } }>("LIST", "auth/token/accessors", {
        token: f.env.rootToken,
      });
      for (const a of res.json?.data?.keys ?? []) if (idOf(a) === meta.id) return a;
      return null;
    });
    const expiryAtKill = await killAfterRenewal(f, op, accessor);
    operator(t, f, "none");
    await waitPastExpiry(t, expiryAtKill);
    // The old token is gone and its lease with it; the application holds new credentials that work.
    assert.equal(await leaseAlive(f.env, leaseId), undefined, "the old lease died with the old token");
    const st = await getStatus(f.env, "VaultDynamicSecret", f.ns, "app-db");
    assert.notEqual((st.secretLease as { id: string }).id, leaseId, "replaced before the old token's end");
    const now = decoded(await f.env.kube.get(CORE.secrets, f.ns, "app-db"));
    assert.notEqual(now.username, creds.username);
    assert.equal((await pgQuery(f.env, now.username, now.password, "SELECT 1")).ok, true);
  });

  test("direct-unencrypted: the entry is plaintext JSON, taken over after a restart; a tampered entry is discarded", async (t) => {
    const f = await fixture(t, "cc-plain");
    const op = operator(t, f, "direct-unencrypted");
    const { meta } = await syncedCreds(f);
    const name = `vso-cc-${meta.cacheKey}`;
    const stored = await eventually("the persisted entry", () =>
      f.env.kube.getOrNull<Entry>(CORE.secrets, f.ns, name),
    );
    assert.equal(stored.metadata.labels?.encrypted, undefined);
    const entry = tokenOf(Buffer.from(stored.data?.secret ?? "", "base64"));
    assert.equal(idOf(entry.accessor), meta.id);

    const expiryAtKill = await killAfterRenewal(f, op, entry.accessor);
    const restarted = operator(t, f, "direct-unencrypted");
    await waitPastExpiry(t, expiryAtKill);
    const after = await tokenByAccessor(f.env, entry.accessor);
    assert.ok(after && Date.parse(after.expire_time) > Date.parse(expiryAtKill), "renewed after the restart");

    // Tampering breaks the messageMAC: the entry is discarded and a fresh login replaces it.
    await restarted.kill();
    const response = JSON.parse(Buffer.from(stored.data?.secret ?? "", "base64").toString("utf8"));
    response.auth.accessor = "forged";
    const forged = Buffer.from(JSON.stringify(response)).toString("base64");
    // The entry is immutable: a tamperer with Secret write access deletes and re-creates it.
    await f.env.kube.delete(CORE.secrets, f.ns, name);
    await f.env.kube.create(CORE.secrets, f.ns, {
      metadata: { name, labels: stored.metadata.labels },
      immutable: true,
      data: { ...stored.data, secret: forged },
    });
    operator(t, f, "direct-unencrypted");
    const replaced = await eventually(
      "a fresh token in the persisted entry",
      async () => {
        const s = await f.env.kube.getOrNull<Entry>(CORE.secrets, f.ns, name);
        const e = s && tokenOf(Buffer.from(s.data?.secret ?? "", "base64"));
        return e && e.accessor !== entry.accessor && e.accessor !== "forged" ? e : null;
      },
      45_000,
      500,
    );
    assert.ok((await tokenByAccessor(f.env, replaced.accessor))?.ttl, "the new token is alive");
    assertNoTokenInLogs(f, [entry.token, replaced.token]);
  });

  test("direct-encrypted without a VaultAuth labelled for storage encryption: clients work, nothing is written", async (t) => {
    const f = await fixture(t, "cc-nolabel", { labelTransitAuth: false });
    operator(t, f, "direct-encrypted");
    await syncedCreds(f);
    const stored = await f.env.kube.list(CORE.secrets, f.ns, {
      labelSelector: "app.kubernetes.io/component=client-cache-storage",
    });
    assert.equal(stored.items.length, 0, "no entry, in particular no plaintext one");
    assert.match(
      f.logs.join(""),
      /exactly one VaultAuth in namespace \S+ labelled cacheStorageEncryption=true; found 0/,
    );
  });
});
