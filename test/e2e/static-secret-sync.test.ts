// VaultStaticSecret behaviour against the real API server and OpenBao: KV v1
// and v2, version pinning, refresh, drift repair, rename pruning, create:false,
// overwrite, type change and RE2 includes/excludes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { eventually, isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  getStatus,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForCondition,
  waitForSecret,
} from "../support/operator.ts";

type SecretLike = { metadata: { uid?: string }; type?: string; data?: Record<string, string> };

async function vss(env: TestEnv, ns: string, name: string, spec: Record<string, unknown>) {
  return await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name },
    spec: { mount: "secret", type: "kv-v2", ...spec },
  });
}

async function setup(t: import("node:test").TestContext) {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "vss");
  const role = await vaultRoleFor(env, ns);
  await defaultConnectionAndAuth(env, ns, role);
  await startOperator(t, env, { namespaces: [ns] });
  return { env, ns };
}

test("kv-v2: sync, pinned version, update within refreshAfter", async (t) => {
  const { env, ns } = await setup(t);
  await kvPut(env, `${ns}/app`, { user: "u1", pass: "p1" });
  await kvPut(env, `${ns}/app`, { user: "u2", pass: "p2" });
  await vss(env, ns, "latest", {
    path: `${ns}/app`,
    refreshAfter: "2s",
    destination: { name: "latest", create: true },
  });
  await vss(env, ns, "pinned", {
    path: `${ns}/app`,
    version: 1,
    destination: { name: "pinned", create: true },
  });
  const latest = decoded(await waitForSecret(env, ns, "latest"));
  assert.equal(latest.user, "u2");
  const pinned = decoded(await waitForSecret(env, ns, "pinned"));
  assert.equal(pinned.user, "u1", "version 1 is pinned");

  const t0 = Date.now();
  await kvPut(env, `${ns}/app`, { user: "u3", pass: "p3" });
  await waitForSecret(env, ns, "latest", (s) => decoded(s).user === "u3", 10_000);
  const elapsed = Date.now() - t0;
  assert.ok(elapsed < 4000, `update arrived in ${elapsed}ms (refreshAfter 2s)`);
  assert.equal(
    decoded(await env.kube.get(CORE.secrets, ns, "pinned")).user,
    "u1",
    "the pinned version stays",
  );
  const st = await getStatus(env, "VaultStaticSecret", ns, "latest");
  assert.match(String(st.secretMAC), /^[A-Za-z0-9+/]{43}=$/);
});

test("a status field the operator drops leaves the server: secretMAC once hmacSecretData is false", async (t) => {
  const { env, ns } = await setup(t);
  await kvPut(env, `${ns}/mac`, { k: "v" });
  await vss(env, ns, "mac", { path: `${ns}/mac`, destination: { name: "mac", create: true } });
  await waitForSecret(env, ns, "mac");
  await eventually(
    "secretMAC written",
    async () => typeof (await getStatus(env, "VaultStaticSecret", ns, "mac")).secretMAC === "string",
    10_000,
  );
  await env.kube.patch(VSO.VaultStaticSecret, ns, "mac", { spec: { hmacSecretData: false } }, "merge");
  // The status is patched with the difference: the MAC the operator no longer keeps is deleted (null).
  await eventually(
    "status of generation 2 without secretMAC",
    async () => {
      const st = await getStatus(env, "VaultStaticSecret", ns, "mac");
      return st.lastGeneration === 2 && !("secretMAC" in st);
    },
    10_000,
  );
  assert.equal(decoded(await env.kube.get(CORE.secrets, ns, "mac")).k, "v", "the data is still synced");
});

test("kv-v1 mount", async (t) => {
  const { env, ns } = await setup(t);
  await env.vault
    .call("POST", "sys/mounts/kvv1", {
      token: env.rootToken,
      body: { type: "kv", options: { version: "1" } },
    })
    .catch(() => {}); // shared by test files; mounted once
  await env.vault.call("POST", `kvv1/${ns}/legacy`, {
    token: env.rootToken,
    body: { a: "1", nested: { b: 2 } },
  });
  await vss(env, ns, "v1", {
    mount: "kvv1",
    type: "kv-v1",
    path: `${ns}/legacy`,
    destination: { name: "v1", create: true },
  });
  const data = decoded(await waitForSecret(env, ns, "v1"));
  assert.equal(data.a, "1");
  assert.equal(data.nested, '{"b":2}', "non-string values are JSON-encoded as Go does");
  assert.equal(data._raw, '{"a":"1","nested":{"b":2}}');
});

test("drift is repaired promptly after an edit and after a delete", async (t) => {
  const { env, ns } = await setup(t);
  await kvPut(env, `${ns}/drift`, { k: "v" });
  // A long refresh: only the Secret watch can explain a quick repair.
  await vss(env, ns, "d", {
    path: `${ns}/drift`,
    refreshAfter: "1h",
    destination: { name: "d", create: true },
  });
  await waitForSecret(env, ns, "d");
  await env.kube.patch(
    CORE.secrets,
    ns,
    "d",
    { data: { k: Buffer.from("tampered").toString("base64") } },
    "merge",
  );
  let t0 = Date.now();
  await waitForSecret(env, ns, "d", (s) => decoded(s).k === "v", 10_000);
  assert.ok(Date.now() - t0 < 5000, `edit repaired in ${Date.now() - t0}ms`);
  await env.kube.delete(CORE.secrets, ns, "d");
  t0 = Date.now();
  await waitForSecret(env, ns, "d", (s) => decoded(s).k === "v", 10_000);
  assert.ok(Date.now() - t0 < 5000, `delete repaired in ${Date.now() - t0}ms`);
});

test("renaming destination.name prunes the old Secret", async (t) => {
  const { env, ns } = await setup(t);
  await kvPut(env, `${ns}/r`, { k: "v" });
  await vss(env, ns, "r", { path: `${ns}/r`, destination: { name: "old-name", create: true } });
  await waitForSecret(env, ns, "old-name");
  await env.kube.patch(
    VSO.VaultStaticSecret,
    ns,
    "r",
    { spec: { destination: { name: "new-name" } } },
    "merge",
  );
  await waitForSecret(env, ns, "new-name");
  await eventually(
    "old Secret pruned",
    async () => (await env.kube.getOrNull(CORE.secrets, ns, "old-name")) === null,
    10_000,
  );
});

test("create: false replaces the data of an existing Secret and keeps its metadata", async (t) => {
  const { env, ns } = await setup(t);
  await kvPut(env, `${ns}/cf`, { fresh: "yes" });
  await vss(env, ns, "missing", { path: `${ns}/cf`, destination: { name: "not-there", create: false } });
  const c = await waitForCondition(
    env,
    "VaultStaticSecret",
    ns,
    "missing",
    "SecretSynced",
    "False",
    /does not exist/,
  );
  assert.match(c.message, /spec\.destination\.create/);

  await env.kube.create(CORE.secrets, ns, {
    metadata: { name: "theirs", labels: { team: "a" }, annotations: { note: "keep" } },
    type: "Opaque",
    stringData: { stale: "x" },
  });
  await vss(env, ns, "cf", { path: `${ns}/cf`, destination: { name: "theirs", create: false } });
  const s = await waitForSecret(env, ns, "theirs", (x) => decoded(x).fresh === "yes");
  assert.deepEqual(Object.keys(decoded(s)).sort(), ["_raw", "fresh"], "the whole data is replaced");
  assert.equal(s.metadata.labels?.team, "a");
  assert.equal(s.metadata.ownerReferences, undefined, "no ownerReference on a Secret we do not own");
});

test("overwrite: an existing unowned Secret is refused, then taken over with overwrite: true", async (t) => {
  const { env, ns } = await setup(t);
  await kvPut(env, `${ns}/ow`, { k: "vault" });
  await env.kube.create(CORE.secrets, ns, { metadata: { name: "preexisting" }, stringData: { k: "local" } });
  await vss(env, ns, "ow", { path: `${ns}/ow`, destination: { name: "preexisting", create: true } });
  await waitForCondition(env, "VaultStaticSecret", ns, "ow", "SecretSynced", "False", /not owned/);
  assert.equal(decoded(await env.kube.get(CORE.secrets, ns, "preexisting")).k, "local", "left untouched");
  await env.kube.patch(
    VSO.VaultStaticSecret,
    ns,
    "ow",
    { spec: { destination: { overwrite: true } } },
    "merge",
  );
  const s = await waitForSecret(env, ns, "preexisting", (x) => decoded(x).k === "vault");
  assert.equal(s.metadata.labels?.["app.kubernetes.io/managed-by"], "hashicorp-vso");
  assert.equal((s.metadata.ownerReferences as { kind: string }[])[0].kind, "VaultStaticSecret");
});

test("overwrite never deletes: a ServiceAccount token or a Helm release Secret it cannot update is refused, intact", async (t) => {
  const { env, ns } = await setup(t);
  await kvPut(env, `${ns}/nd`, { k: "vault" });
  await env.kube.create(CORE.serviceaccounts, ns, { metadata: { name: "robot" } }).catch(() => {});
  await env.kube.create(CORE.secrets, ns, {
    metadata: { name: "robot-token", annotations: { "kubernetes.io/service-account.name": "robot" } },
    type: "kubernetes.io/service-account-token",
  });
  await env.kube.create(CORE.secrets, ns, {
    metadata: { name: "sh.helm.release.v1.app.v1", labels: { owner: "helm" } },
    type: "helm.sh/release.v1",
    immutable: true,
    stringData: { release: "history" },
  });
  const before = {
    // With a node the token controller fills it; the type alone is what matters here.
    token: (await env.kube.get(CORE.secrets, ns, "robot-token")) as unknown as SecretLike,
    helm: (await env.kube.get(CORE.secrets, ns, "sh.helm.release.v1.app.v1")) as unknown as SecretLike,
  };
  await vss(env, ns, "tok", {
    path: `${ns}/nd`,
    destination: { name: "robot-token", create: true, overwrite: true },
  });
  await vss(env, ns, "helm", {
    path: `${ns}/nd`,
    destination: { name: "sh.helm.release.v1.app.v1", create: true, overwrite: true },
  });
  const tok = await waitForCondition(
    env,
    "VaultStaticSecret",
    ns,
    "tok",
    "SecretSynced",
    "False",
    /never deleted/,
  );
  assert.match(tok.message, /^spec\.destination: .*is of type kubernetes\.io\/service-account-token/);
  const helm = await waitForCondition(
    env,
    "VaultStaticSecret",
    ns,
    "helm",
    "SecretSynced",
    "False",
    /never deleted/,
  );
  assert.match(helm.message, /is immutable/);
  for (const [name, was] of [
    ["robot-token", before.token],
    ["sh.helm.release.v1.app.v1", before.helm],
  ] as const) {
    const now = (await env.kube.get(CORE.secrets, ns, name)) as unknown as SecretLike;
    assert.equal(now.metadata.uid, was.metadata.uid, `${name} is the same object`);
    assert.equal(now.type, was.type);
  }
  const release = (await env.kube.get(
    CORE.secrets,
    ns,
    "sh.helm.release.v1.app.v1",
  )) as unknown as SecretLike;
  assert.deepEqual(release.data, before.helm.data, "the release history is intact");
});

test("a destination type change recreates the Secret", async (t) => {
  const { env, ns } = await setup(t);
  await kvPut(env, `${ns}/ty`, { k: "v" });
  await vss(env, ns, "ty", { path: `${ns}/ty`, destination: { name: "ty", create: true } });
  const first = await waitForSecret(env, ns, "ty");
  assert.equal(first.type, "Opaque");
  await env.kube.patch(
    VSO.VaultStaticSecret,
    ns,
    "ty",
    { spec: { destination: { type: "example.com/custom" } } },
    "merge",
  );
  const second = await waitForSecret(env, ns, "ty", (s) => s.type === "example.com/custom");
  assert.notEqual(second.metadata.uid, first.metadata.uid, "a new object");
  assert.equal(decoded(second).k, "v");
});

test("excludes then includes, with RE2 syntax such as (?i)", async (t) => {
  const { env, ns } = await setup(t);
  await kvPut(env, `${ns}/f`, { API_KEY: "a", api_secret: "b", Internal_Api: "c", other: "d" });
  await vss(env, ns, "f", {
    path: `${ns}/f`,
    destination: {
      name: "f",
      create: true,
      transformation: { excludes: ["^(?i)internal"], includes: ["(?i)^api"], excludeRaw: true },
    },
  });
  const data = decoded(await waitForSecret(env, ns, "f"));
  assert.deepEqual(Object.keys(data).sort(), ["API_KEY", "api_secret"]);
});

test("an invalid RE2 pattern is reported on the resource, naming the field", async (t) => {
  const { env, ns } = await setup(t);
  await kvPut(env, `${ns}/bad`, { k: "v" });
  await vss(env, ns, "bad", {
    path: `${ns}/bad`,
    destination: { name: "bad", create: true, transformation: { includes: ["(?<=x)y"] } },
  });
  const c = await waitForCondition(env, "VaultStaticSecret", ns, "bad", "SecretSynced", "False");
  assert.match(c.message, /transformation\.includes/);
  assert.equal(await env.kube.getOrNull(CORE.secrets, ns, "bad"), null);
});

test("--global-transformation-options=exclude-raw drops _raw everywhere", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "noraw");
  const role = await vaultRoleFor(env, ns);
  await defaultConnectionAndAuth(env, ns, role);
  await startOperator(t, env, { namespaces: [ns], args: ["--global-transformation-options=exclude-raw"] });
  await kvPut(env, `${ns}/x`, { k: "v" });
  await vss(env, ns, "x", { path: `${ns}/x`, destination: { name: "x", create: true } });
  assert.deepEqual(Object.keys(decoded(await waitForSecret(env, ns, "x"))), ["k"]);
});
