// Smoke tests of the real local environment: TokenRequest + TokenReview through
// OpenBao's Kubernetes auth, database credentials that really log in to
// PostgreSQL and really stop working after revocation, and garbage collection
// by the real kube-controller-manager.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import { VaultApiError } from "../../src/vault/http.ts";
import { eventually, isolatedNamespace, pgQuery, testEnv } from "../support/env.ts";

async function serviceAccountToken(env: Awaited<ReturnType<typeof testEnv>>, ns: string, sa: string) {
  const res = (await env.kube.raw("POST", env.kube.path(CORE.serviceaccounts, ns, sa, "token"), {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 600 },
  })) as { status: { token: string } };
  return res.status.token;
}

test("myapp-sa logs in through auth/kubernetes and reads secret/myapp/database", async () => {
  const env = await testEnv();
  const jwt = await serviceAccountToken(env, "default", "myapp-sa");
  const login = await env.vault.call<{ auth: { client_token: string; policies: string[] } }>(
    "POST",
    "auth/kubernetes/login",
    { body: { role: "myapp-role", jwt } },
  );
  const clientToken = login.json?.auth.client_token ?? "";
  assert.ok(clientToken.length > 0, "login returned a client token");
  assert.ok(login.json?.auth.policies.includes("myapp-policy"));
  const read = await env.vault.call<{ data: { data: Record<string, string> } }>(
    "GET",
    "secret/data/myapp/database",
    { token: clientToken },
  );
  assert.equal(read.json?.data.data.username, "myapp");
  assert.ok(read.json?.data.data.password);
  // The policy grants myapp/* only.
  await assert.rejects(env.vault.call("GET", "secret/data/other/thing", { token: clientToken }), (err) => {
    return err instanceof VaultApiError && err.status === 403;
  });
});

test("a service account the role does not bind is refused", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env);
  await env.kube.create(CORE.serviceaccounts, ns, { metadata: { name: "myapp-sa" } });
  await env.kube.create(CORE.serviceaccounts, "default", { metadata: { name: `other-${ns}` } });
  t.after(() => env.kube.delete(CORE.serviceaccounts, "default", `other-${ns}`));
  for (const [where, sa] of [
    [ns, "myapp-sa"], // right name, wrong namespace
    ["default", `other-${ns}`], // right namespace, wrong name
  ]) {
    const jwt = await serviceAccountToken(env, where, sa);
    await assert.rejects(
      env.vault.call("POST", "auth/kubernetes/login", { body: { role: "myapp-role", jwt } }),
      (err) => err instanceof VaultApiError && err.status === 403,
      `${where}/${sa} must be refused`,
    );
  }
});

test("database credentials log in to PostgreSQL and stop working once revoked", async () => {
  const env = await testEnv();
  const creds = await env.vault.call<{ lease_id: string; data: { username: string; password: string } }>(
    "GET",
    "database/creds/myapp-db-role",
    { token: env.rootToken },
  );
  const { username, password } = creds.json!.data;
  const leaseId = creds.json!.lease_id;
  assert.match(leaseId, /^database\/creds\/myapp-db-role\//);
  const before = await pgQuery(env, username, password);
  assert.ok(before.ok, `login with issued credentials: ${before.ok ? "" : before.error}`);
  assert.match(before.ok ? before.output : "", /PostgreSQL 15/);
  const wrong = await pgQuery(env, username, `${password}x`);
  assert.equal(wrong.ok, false, "a wrong password is refused");

  await env.vault.call("PUT", "sys/leases/revoke", { token: env.rootToken, body: { lease_id: leaseId } });
  const after = await pgQuery(env, username, password);
  assert.equal(after.ok, false, "revoked credentials are refused");
  assert.match(after.ok ? "" : after.error, /password authentication failed|does not exist/);
});

test("a Secret owned by another object is garbage-collected when its owner is deleted", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env);
  const owner = await env.kube.create(CORE.configmaps, ns, { metadata: { name: "owner" }, data: { a: "b" } });
  await env.kube.create(CORE.secrets, ns, {
    metadata: {
      name: "owned",
      ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata.uid }],
    },
    stringData: { k: "v" },
  });
  await env.kube.create(CORE.secrets, ns, { metadata: { name: "unowned" }, stringData: { k: "v" } });
  await env.kube.delete(CORE.configmaps, ns, "owner");
  await eventually(
    "the owned Secret to be garbage-collected",
    async () => {
      return (await env.kube.getOrNull(CORE.secrets, ns, "owned")) === null;
    },
    60_000,
  );
  assert.ok(await env.kube.getOrNull(CORE.secrets, ns, "unowned"), "a Secret without owner stays");
});

test("deleting a namespace removes its objects (namespace controller)", async () => {
  const env = await testEnv();
  const ns = `t-nsdel-${Date.now().toString(36)}`;
  await env.kube.create(CORE.namespaces, undefined, { metadata: { name: ns } });
  await env.kube.create(CORE.secrets, ns, { metadata: { name: "s" }, stringData: { k: "v" } });
  await env.kube.delete(CORE.namespaces, undefined, ns);
  await eventually(
    "the namespace to be gone",
    async () => {
      return (await env.kube.getOrNull(CORE.namespaces, undefined, ns)) === null;
    },
    90_000,
  );
});
