// Credentials never die under the app and never outlive their owner (issue
// 18), against OpenBao's database engine and PostgreSQL. In Vault a lease is a
// child of the token that obtained it; each test faults that token and a probe
// logs in to PostgreSQL with whatever the destination Secret holds, every
// second, across the fault, as an app re-reading its Secret would:
// - an operator restart without client-cache persistence (the old process's
//   token is renewed by nobody and runs out);
// - the operator's token revoked out of band;
// - the auth role's token max TTL shorter than the lease;
// - a VaultStaticSecret whose path the policy denies, beside the leases;
// - a namespace deleted whole with revoke: true.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { type TestContext, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { dbSetup, leaseCount, spawnOperator, vds } from "../support/db.ts";
import { eventually, isolatedNamespace, pgQuery, type TestEnv, testEnv, uniqueName } from "../support/env.ts";
import { loginProbe } from "../support/login-probe.ts";
import {
  decoded,
  eventsFor,
  getStatus,
  startOperator,
  waitForCondition,
  waitForSecret,
} from "../support/operator.ts";
import { pkiMountWithRole, pkiPolicyLines } from "../support/pki.ts";

/** Accessors of live tokens that carry `policy` (root lists them all). */
async function tokensWithPolicy(env: TestEnv, policy: string): Promise<string[]> {
  const list = await env.vault.call<{ data: { keys: string[] } }>("LIST", "auth/token/accessors", {
    token: env.rootToken,
  });
  const out: string[] = [];
  for (const accessor of list.json?.data.keys ?? []) {
    const res = await env.vault
      .call<{ data: { policies?: string[] } }>("POST", "auth/token/lookup-accessor", {
        token: env.rootToken,
        body: { accessor },
      })
      .catch(() => undefined);
    if (res?.json?.data.policies?.includes(policy)) out.push(accessor);
  }
  return out;
}

/** A Deployment-less app: the probe stands in for it. The outage a rotation may cost, at most. */
const ROTATION_MS = 5_000;

/** The lease in status once the first sync is committed (the Secret is written just before). */
async function syncedLease(env: TestEnv, ns: string, name: string): Promise<string> {
  return await eventually(`${ns}/${name}'s lease in status`, () => leaseOf(env, ns, name));
}

async function leaseOf(env: TestEnv, ns: string, name: string): Promise<string> {
  return String(
    ((await getStatus(env, "VaultDynamicSecret", ns, name)).secretLease as { id?: string })?.id ?? "",
  );
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((r) => {
    child.once("exit", () => r());
    child.kill("SIGTERM");
  });
}

async function syncedDynamic(
  t: TestContext,
  env: TestEnv,
  prefix: string,
  tokens: { tokenTtl: string; tokenMaxTtl?: string },
  revoke = true,
) {
  const ns = await isolatedNamespace(t, env, prefix);
  const db = await dbSetup(env, ns, "10m", "1h", tokens);
  await env.kube.create(VSO.VaultDynamicSecret, ns, vds("db", { path: `creds/${db.role}`, revoke }));
  return { ns, ...db };
}

test("an operator restart without persistence: the old token runs out, the app's login never fails", async (t) => {
  const env = await testEnv();
  // A 60 s token: the old process's token ends at most 60 s after the restart, at least 20 s after.
  const { ns, role } = await syncedDynamic(t, env, "cl-restart", { tokenTtl: "60s" });
  const first = spawnOperator(env, ns);
  t.after(() => stopProcess(first));
  await waitForSecret(env, ns, "db", (s) => Boolean(decoded(s).username));
  const before = await syncedLease(env, ns, "db");
  const probe = loginProbe(env, ns, "db");
  await sleep(3_000);
  await stopProcess(first);
  const second = spawnOperator(env, ns);
  t.after(() => stopProcess(second));
  // Past the old token's end for certain (60 s), plus a margin.
  await sleep(75_000);
  const summary = await probe.stop();
  t.diagnostic(
    `logins ${summary.attempts}, failed ${summary.failures}, longest outage ${summary.longestOutageMs} ms, credentials seen ${summary.usernames.size}`,
  );
  const after = await leaseOf(env, ns, "db");
  assert.notEqual(after, before, "the lease under the old process's token was replaced");
  assert.ok(summary.usernames.size >= 2, "the app saw the new credentials");
  assert.ok(
    summary.longestOutageMs <= ROTATION_MS,
    `longest login outage ${summary.longestOutageMs} ms (${summary.failures}/${summary.attempts} failed)`,
  );
  const events = await eventsFor(env, ns, "db");
  assert.ok(
    events.some((e) => /VaultTokenRotated/.test(e.message ?? "")),
    "synced for the token's end",
  );
  // One live lease for this role: the replaced one was revoked after its grace period or died with its token.
  await eventually("one live lease", async () => (await leaseCount(env, role)) === 1, 45_000, 1_000);
});

test("the operator's token revoked out of band: new credentials within seconds", async (t) => {
  const env = await testEnv();
  const { ns, policy } = await syncedDynamic(t, env, "cl-revoked", { tokenTtl: "1h" });
  await startOperator(t, env, { namespaces: [ns] });
  await waitForSecret(env, ns, "db", (s) => Boolean(decoded(s).username));
  const before = await syncedLease(env, ns, "db");
  const probe = loginProbe(env, ns, "db");
  await sleep(3_000);
  const accessors = await tokensWithPolicy(env, policy);
  assert.equal(accessors.length, 1, "one token for the namespace's VaultAuth");
  await env.vault.call("POST", "auth/token/revoke-accessor", {
    token: env.rootToken,
    body: { accessor: accessors[0] },
  });
  const revokedAt = Date.now();
  const back = await eventually(
    "a new lease",
    async () => {
      const id = await leaseOf(env, ns, "db");
      return id && id !== before ? Date.now() : undefined;
    },
    30_000,
    250,
  );
  await sleep(5_000);
  const summary = await probe.stop();
  t.diagnostic(
    `logins ${summary.attempts}, failed ${summary.failures}, longest outage ${summary.longestOutageMs} ms, credentials seen ${summary.usernames.size}`,
  );
  // The revocation kills the lease at once; what counts is how soon the app has working credentials again:
  // the token heartbeat (5 s) plus one issue and one Secret write.
  assert.ok(back - revokedAt <= 12_000, `new credentials ${back - revokedAt} ms after the revocation`);
  assert.ok(summary.longestOutageMs <= 12_000, `longest login outage ${summary.longestOutageMs} ms`);
  assert.equal((await tokensWithPolicy(env, policy)).length, 1, "exactly one new token");
  const events = await eventsFor(env, ns, "db");
  assert.ok(events.some((e) => /VaultTokenRevoked/.test(e.message ?? "")));
});

test("a token max TTL shorter than the lease: replaced ahead of the token's end, with a warning", async (t) => {
  const env = await testEnv();
  // Tokens live 40 s at most; leases 10 minutes.
  const { ns } = await syncedDynamic(t, env, "cl-maxttl", { tokenTtl: "20s", tokenMaxTtl: "40s" });
  await startOperator(t, env, { namespaces: [ns] });
  await waitForSecret(env, ns, "db", (s) => Boolean(decoded(s).username));
  const first = await syncedLease(env, ns, "db");
  const probe = loginProbe(env, ns, "db");
  await sleep(70_000);
  const summary = await probe.stop();
  t.diagnostic(
    `logins ${summary.attempts}, failed ${summary.failures}, longest outage ${summary.longestOutageMs} ms, credentials seen ${summary.usernames.size}`,
  );
  assert.notEqual(await leaseOf(env, ns, "db"), first, "replaced before the first token's end");
  assert.ok(
    summary.longestOutageMs <= ROTATION_MS,
    `longest login outage ${summary.longestOutageMs} ms (${summary.failures}/${summary.attempts} failed)`,
  );
  const events = await eventsFor(env, ns, "db");
  assert.ok(
    events.some((e) => e.type === "Warning" && /ends in .* before the lease's 600s/.test(e.message ?? "")),
    "the user is told the token ends before the lease",
  );
});

test("a denied path beside the leases: no token per retry, the leases keep their token", async (t) => {
  const env = await testEnv();
  const { ns, policy } = await syncedDynamic(t, env, "cl-denied", { tokenTtl: "1h" });
  await startOperator(t, env, {
    namespaces: [ns],
    args: ["--backoff-initial-interval=200ms", "--backoff-max-interval=1s"],
  });
  await waitForSecret(env, ns, "db", (s) => Boolean(decoded(s).username));
  const lease = await syncedLease(env, ns, "db");
  const probe = loginProbe(env, ns, "db");
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name: "denied" },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path: "not/allowed",
      destination: { name: "denied", create: true },
    },
  });
  const c = await waitForCondition(env, "VaultStaticSecret", ns, "denied", "SecretSynced", "False", /403/);
  assert.match(c.message, /grant the Vault role's policy access to secret\/data\/not\/allowed/);
  await sleep(20_000); // dozens of retries at a 1 s backoff cap
  const summary = await probe.stop();
  t.diagnostic(
    `logins ${summary.attempts}, failed ${summary.failures}, longest outage ${summary.longestOutageMs} ms, credentials seen ${summary.usernames.size}`,
  );
  assert.equal(summary.failures, 0, "the leases never died");
  assert.equal(await leaseOf(env, ns, "db"), lease, "the lease was never replaced");
  assert.equal((await tokensWithPolicy(env, policy)).length, 1, "one live token: probes revoke theirs");
});

/** A PKI mount of the namespace's own with role `web`; `policy` gets issue and revoke beside `extra`. */
async function pkiFor(
  t: TestContext,
  env: TestEnv,
  ns: string,
  policy: string,
  extra: string[],
): Promise<string> {
  const mount = await pkiMountWithRole(t, env, ns);
  await env.vault.call("PUT", `sys/policies/acl/${policy}`, {
    token: env.rootToken,
    body: { policy: [...extra, ...pkiPolicyLines(mount)].join("\n") },
  });
  return mount;
}

test("a namespace deleted whole revokes its lease and its certificate, whatever is deleted first", async (t) => {
  const env = await testEnv();
  const ns = uniqueName("cl-nsdel");
  await env.kube.create(CORE.namespaces, undefined, {
    metadata: { name: ns, labels: { "vso-ts.test": "true" } },
  });
  t.after(() => env.kube.delete(CORE.namespaces, undefined, ns).catch(() => {}));
  const { role, policy } = await dbSetup(env, ns, "10m", "1h");
  const mount = await pkiFor(t, env, ns, policy, [
    `path "database/creds/${role}" { capabilities = ["read"] }`,
    'path "sys/leases/revoke" { capabilities = ["update"] }',
    'path "sys/leases/renew" { capabilities = ["update"] }',
  ]);
  await env.kube.create(VSO.VaultDynamicSecret, ns, vds("db", { path: `creds/${role}`, revoke: true }));
  await env.kube.create(VSO.VaultPKISecret, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultPKISecret",
    metadata: { name: "cert" },
    spec: {
      mount,
      role: "web",
      commonName: "app.example.com",
      ttl: "1h",
      revoke: true,
      destination: { name: "cert", create: true },
    },
  });
  await startOperator(t, env, { namespaces: [ns] });
  const creds = decoded(await waitForSecret(env, ns, "db", (s) => Boolean(decoded(s).username)));
  await waitForSecret(env, ns, "cert", (s) => Boolean(decoded(s).certificate));
  // The Secret is written before the status commit that records the serial.
  const serial = await eventually("the certificate's serial in status", async () =>
    String((await getStatus(env, "VaultPKISecret", ns, "cert")).serialNumber ?? ""),
  );
  assert.equal(await leaseCount(env, role), 1);
  await env.kube.delete(CORE.namespaces, undefined, ns);
  await eventually(
    "the namespace is gone",
    async () => !(await env.kube.getOrNull(CORE.namespaces, undefined, ns)),
    90_000,
    500,
  );
  assert.equal(await leaseCount(env, role), 0, "the lease was revoked");
  assert.equal((await pgQuery(env, creds.username, creds.password)).ok, false, "its login no longer works");
  const cert = await env.vault.call<{ data: { revocation_time: number } }>("GET", `${mount}/cert/${serial}`, {
    token: env.rootToken,
  });
  assert.ok((cert.json?.data.revocation_time ?? 0) > 0, "the certificate was revoked");
  await eventually(
    "the namespace's token is revoked",
    async () => (await tokensWithPolicy(env, policy)).length === 0,
    10_000,
  );
});
