// Issue 10, item 5: Vault, the API server and etcd frozen (SIGSTOP) in turn,
// then the API server SIGKILLed and started again,
// while a VaultStaticSecret (refreshed every second) and a VaultDynamicSecret
// (30 s database leases, renewed) sync. Runs against private servers
// (test/support/private-servers.ts) so freezing them disturbs no other test.
// Every change of the destination Secrets is watched: none is ever deleted or
// written without its keys; each change made in Vault during or after a freeze
// arrives once the server continues; no lease is leaked, and delete with
// revoke: true leaves none.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CORE, type KubeObject } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { eventually, pgQuery, type TestEnv, testEnv } from "../support/env.ts";
import { decoded, getStatus, kvPut, startOperator, waitForSecret } from "../support/operator.ts";
import { startPrivateServers } from "../support/private-servers.ts";

const NS = "freeze";
const FREEZE_MS = 5000;

interface SecretEvent {
  type: string;
  name: string;
  uid: string;
  data: Record<string, string>;
}

/** Watches the namespace's Secrets, resuming after every break, until `signal` aborts. */
function recordSecrets(env: TestEnv, signal: AbortSignal): SecretEvent[] {
  const events: SecretEvent[] = [];
  let rv: string | undefined;
  void (async () => {
    while (!signal.aborted) {
      await env.kube
        .watch(
          CORE.secrets,
          NS,
          { resourceVersion: rv },
          (ev) => {
            const o = ev.object as KubeObject & { data?: Record<string, string> };
            // An expired resourceVersion (a restarted API server's new watch cache): start over from the current state.
            if (ev.type === "ERROR") {
              rv = undefined;
              return;
            }
            rv = o.metadata.resourceVersion ?? rv;
            if (ev.type === "BOOKMARK") return;
            events.push({
              type: ev.type,
              name: o.metadata.name ?? "",
              uid: o.metadata.uid ?? "",
              data: decoded(o),
            });
          },
          signal,
        )
        .catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return events;
}

async function liveLeases(env: TestEnv): Promise<string[]> {
  const res = await env.vault.call<{ data?: { keys?: string[] } }>(
    "LIST",
    "sys/leases/lookup/database/creds/app",
    {
      token: env.rootToken,
      accept: [404],
    },
  );
  return (res.json?.data?.keys ?? []).map((k) => `database/creds/app/${k}`);
}

test("Vault, kube-apiserver and etcd frozen in turn, kube-apiserver restarted: Secrets never blanked or deleted, syncing recovers, no lease leaked", async (t) => {
  const shared = await testEnv();
  const t0 = Date.now();
  const servers = await startPrivateServers(t, shared);
  const { env, processes } = servers;
  t.diagnostic(
    `private etcd, kube-apiserver and OpenBao ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
  );
  const tok = { token: env.rootToken };
  await env.kube.create(CORE.namespaces, undefined, { metadata: { name: NS } });
  await env.kube.create(CORE.serviceaccounts, NS, { metadata: { name: "app" } });
  await env.vault.call("PUT", "sys/policies/acl/app", {
    ...tok,
    body: {
      policy: [
        'path "secret/data/app" { capabilities = ["read"] }',
        'path "database/creds/app" { capabilities = ["read"] }',
        'path "sys/leases/renew" { capabilities = ["update"] }',
        'path "sys/leases/revoke" { capabilities = ["update"] }',
      ].join("\n"),
    },
  });
  await env.vault.call("POST", "auth/kubernetes/role/app", {
    ...tok,
    body: {
      bound_service_account_names: ["app"],
      bound_service_account_namespaces: [NS],
      policies: ["app"],
      ttl: "1h",
    },
  });
  await kvPut(env, "app", { v: "initial" });
  const api = "secrets.hashicorp.com/v1beta1";
  await env.kube.create(VSO.VaultConnection, NS, {
    apiVersion: api,
    kind: "VaultConnection",
    metadata: { name: "default" },
    spec: { address: env.state.vault.address, timeout: "2s" },
  });
  await env.kube.create(VSO.VaultAuth, NS, {
    apiVersion: api,
    kind: "VaultAuth",
    metadata: { name: "default" },
    spec: { method: "kubernetes", mount: "kubernetes", kubernetes: { role: "app", serviceAccount: "app" } },
  });
  const operator = await startOperator(t, env, { namespaces: [NS] });
  // Stopped at the end of the test, before the private servers; the hook startOperator registers then does nothing.
  const stopOnce = operator.stop.bind(operator);
  let stopping: Promise<void> | undefined;
  operator.stop = () => {
    stopping ??= stopOnce();
    return stopping;
  };
  const watching = new AbortController();
  t.after(() => watching.abort());
  const events = recordSecrets(env, watching.signal);
  await env.kube.create(VSO.VaultStaticSecret, NS, {
    apiVersion: api,
    kind: "VaultStaticSecret",
    metadata: { name: "kv" },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path: "app",
      refreshAfter: "1s",
      destination: { name: "kv", create: true },
    },
  });
  await env.kube.create(VSO.VaultDynamicSecret, NS, {
    apiVersion: api,
    kind: "VaultDynamicSecret",
    metadata: { name: "db" },
    spec: { mount: "database", path: "creds/app", revoke: true, destination: { name: "db", create: true } },
  });
  await waitForSecret(env, NS, "kv", (s) => decoded(s).v === "initial", 60_000);
  await waitForSecret(env, NS, "db", () => true, 60_000);

  t.diagnostic(`synced ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  const recovery: string[] = [];
  for (const [name, proc] of [
    ["Vault", processes.vault],
    ["kube-apiserver", processes.apiserver],
    ["etcd", processes.etcd],
  ] as const) {
    const before = decoded(await env.kube.get(CORE.secrets, NS, "kv"));
    process.kill(proc.pid, "SIGSTOP");
    const frozenAt = Date.now();
    // A change in Vault while frozen (Vault itself can take it only after it continues).
    if (name !== "Vault") await kvPut(env, "app", { v: `during-${name}` });
    await new Promise((r) => setTimeout(r, FREEZE_MS - (Date.now() - frozenAt)));
    if (name === "Vault") {
      assert.deepEqual(
        decoded(await env.kube.get(CORE.secrets, NS, "kv")),
        before,
        "untouched while Vault is frozen",
      );
    }
    process.kill(proc.pid, "SIGCONT");
    const continuedAt = Date.now();
    if (name === "Vault") await kvPut(env, "app", { v: `during-${name}` });
    await waitForSecret(env, NS, "kv", (s) => decoded(s).v === `during-${name}`, 60_000);
    const took = ((Date.now() - continuedAt) / 1000).toFixed(1);
    recovery.push(`${name} frozen ${FREEZE_MS / 1000} s, change delivered ${took} s after SIGCONT`);
    const creds = decoded(await env.kube.get(CORE.secrets, NS, "db"));
    assert.ok(
      (await pgQuery(env, creds.username, creds.password, "SELECT 1")).ok,
      `the dynamic Secret's login works after the ${name} freeze`,
    );
  }
  // kube-apiserver killed and started again (a new process on the same etcd), a change made while it is down.
  const down = Date.now();
  await kvPut(env, "app", { v: "during-restart" });
  await servers.restartApiserver(2000);
  const upAgain = Date.now();
  await waitForSecret(env, NS, "kv", (s) => decoded(s).v === "during-restart", 60_000);
  recovery.push(
    `kube-apiserver SIGKILLed and restarted (down ${((upAgain - down) / 1000).toFixed(1)} s), change delivered ${((Date.now() - upAgain) / 1000).toFixed(1)} s after it was ready`,
  );
  t.diagnostic(recovery.join("; "));

  // No lease leaked: once settled, the only live lease is the one in status.
  const current = await eventually(
    "settled: nothing pending, the only live lease the current one",
    async () => {
      const st = (await getStatus(env, "VaultDynamicSecret", NS, "db")) as {
        secretLease?: { id?: string };
        pendingRevocations?: unknown[];
      };
      const live = await liveLeases(env);
      const id = st.secretLease?.id;
      return id && (st.pendingRevocations ?? []).length === 0 && live.length === 1 && live[0] === id
        ? id
        : null;
    },
    60_000,
  ).catch(async (err) => {
    t.diagnostic(
      `live ${JSON.stringify(await liveLeases(env))}; status ${JSON.stringify(await getStatus(env, "VaultDynamicSecret", NS, "db"))}`,
    );
    throw err;
  });
  t.diagnostic(`settled ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
  watching.abort();
  const ours = events.filter((e) => e.name === "kv" || e.name === "db");
  const required: Record<string, string[]> = { kv: ["v"], db: ["username", "password"] };
  const bad = ours.filter((e) => e.type === "DELETED" || required[e.name].some((k) => !e.data[k]));
  const uids = new Set(ours.map((e) => `${e.name}/${e.uid}`));
  t.diagnostic(
    `destination Secret changes watched: ${ours.length}; deleted or blanked: ${bad.length}; the only live lease is the current one (${current.split("/").pop()})`,
  );
  assert.deepEqual(bad, [], "no destination Secret deleted or written without its keys");
  assert.equal(uids.size, 2, "each destination Secret kept its identity (never recreated)");
  await env.kube.delete(VSO.VaultDynamicSecret, NS, "db");
  await eventually("0 leases after delete", async () => (await liveLeases(env)).length === 0, 30_000);
  await operator.stop(); // before the private servers stop
});
