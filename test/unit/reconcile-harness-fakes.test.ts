// The harness's fakes keep the rules the reconcile scenarios rely on: the API
// server's conflicts, status subresource, finalizers and garbage collection,
// merge patches that keep what they do not mention, and Vault's leases dying
// with the token that created them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CORE, type KubeObject } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { VaultHttp } from "../../src/vault/http.ts";
import { FakeClock } from "../harness/clock.ts";
import { FakeKube } from "../harness/fake-kube.ts";
import { FakeVault } from "../harness/fake-vault.ts";

type Obj = KubeObject & { spec?: Record<string, unknown>; status?: Record<string, unknown>; data?: object };

function kube() {
  return new FakeKube({ now: new FakeClock().now, resources: Object.values(VSO) });
}

async function rejects(p: Promise<unknown>, status: number, reason?: string) {
  await assert.rejects(p, (err: { status?: number; reason?: string }) => {
    assert.equal(err.status, status);
    if (reason !== undefined) assert.equal(err.reason, reason);
    return true;
  });
}

test("FakeKube: 404, AlreadyExists, and a stale resourceVersion is a 409 Conflict", async () => {
  const k = kube();
  await rejects(k.get(CORE.secrets, "ns", "s"), 404, "NotFound");
  assert.equal(await k.getOrNull(CORE.secrets, "ns", "s"), null);
  const s = await k.create<Obj>(CORE.secrets, "ns", { metadata: { name: "s" }, data: {} });
  await rejects(k.create(CORE.secrets, "ns", { metadata: { name: "s" } }), 409, "AlreadyExists");
  const updated = await k.replace<Obj>(CORE.secrets, "ns", "s", { ...s, data: { a: "YQ==" } });
  assert.notEqual(updated.metadata.resourceVersion, s.metadata.resourceVersion);
  await rejects(k.replace(CORE.secrets, "ns", "s", { ...s, data: { a: "Yg==" } }), 409, "Conflict");
  await rejects(
    k.patch(CORE.secrets, "ns", "s", [{ op: "test", path: "/metadata/resourceVersion", value: "1" }], "json"),
    422,
  );
  await rejects(
    k.replace(CORE.secrets, "ns", "s", { ...updated, type: "kubernetes.io/tls" }),
    422,
    "Invalid",
  );
});

test("FakeKube: the status subresource, generation, and a merge patch keeps the fields it does not name", async () => {
  const k = kube();
  const o = k.seed<Obj>(VSO.VaultStaticSecret, { metadata: { name: "o", namespace: "ns" }, spec: { a: 1 } });
  assert.equal(o.metadata.generation, 1);
  await k.patch(VSO.VaultStaticSecret, "ns", "o", { status: { x: 1, y: 2 } }, "merge", {
    subresource: "status",
  });
  await k.patch(VSO.VaultStaticSecret, "ns", "o", { status: { x: 3 } }, "merge", { subresource: "status" });
  assert.deepEqual(k.peek<Obj>(VSO.VaultStaticSecret, "ns", "o")?.status, { x: 3, y: 2 });
  // Writes to the object ignore .status; a spec change moves generation, a status change does not.
  const after = await k.patch<Obj>(VSO.VaultStaticSecret, "ns", "o", { spec: { a: 2 }, status: { x: 9 } });
  assert.equal(after.metadata.generation, 2);
  assert.deepEqual(after.status, { x: 3, y: 2 });
});

test("FakeKube: deletion waits for finalizers, then owned objects are collected; informers follow", async () => {
  const k = kube();
  const inf = k.informer(CORE.secrets, { metadataOnly: true, labelSelector: "owned" });
  const o = k.seed<Obj>(VSO.VaultStaticSecret, {
    metadata: { name: "o", namespace: "ns", finalizers: ["f"] },
    spec: {},
  });
  await k.create(CORE.secrets, "ns", {
    metadata: { name: "s", labels: { owned: "yes" }, ownerReferences: [{ uid: o.metadata.uid }] },
    data: { k: "dg==" },
  });
  assert.equal(inf.get("ns", "s")?.metadata.name, "s");
  assert.equal((inf.get("ns", "s") as Obj).data, undefined, "metadata only");
  k.userDelete(VSO.VaultStaticSecret, "ns", "o");
  assert.ok(k.peek(VSO.VaultStaticSecret, "ns", "o")?.metadata.deletionTimestamp);
  inf.pause();
  await k.patch(VSO.VaultStaticSecret, "ns", "o", [{ op: "remove", path: "/metadata/finalizers/0" }], "json");
  assert.equal(k.peek(VSO.VaultStaticSecret, "ns", "o"), undefined);
  assert.equal(k.peek(CORE.secrets, "ns", "s"), undefined, "collected with its owner");
  assert.ok(inf.get("ns", "s"), "a paused informer lags");
  inf.resume();
  assert.equal(inf.get("ns", "s"), undefined);
});

test("FakeVault: a lease is a child of its token; revoking the token revokes it; faults and denials", async (t) => {
  const clock = new FakeClock();
  const vault = new FakeVault({ now: clock.now });
  const http = new VaultHttp({ address: await vault.start() });
  t.after(() => vault.stop());
  const login = await http.call<{ auth: { client_token: string; accessor: string } }>(
    "PUT",
    "auth/k8s/login",
    {
      body: { role: "r", jwt: "j" },
    },
  );
  const token = login.json?.auth.client_token ?? "";
  const creds = await http.call<{ lease_id: string }>("GET", "database/creds/app", { token });
  const lease = creds.json?.lease_id ?? "";
  assert.ok(vault.leaseAlive(lease));
  clock.advanceSeconds(601);
  assert.equal(vault.leaseAlive(lease), false, "expired on the fake clock");
  const second = (await http.call<{ lease_id: string }>("GET", "database/creds/app", { token })).json
    ?.lease_id;
  vault.revokeToken(login.json?.auth.accessor ?? "");
  assert.equal(vault.leaseAlive(second), false);
  await assert.rejects(http.call("GET", "auth/token/lookup-self", { token }), /403/);
  vault.fail("auth/k8s/login", 503);
  await assert.rejects(http.call("PUT", "auth/k8s/login", { body: { role: "r", jwt: "j" } }), /503/);
  assert.equal(vault.count("PUT", "auth/k8s/login"), 2);
});
