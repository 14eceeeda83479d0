// The operator's ServiceAccount UID lookup (part of the Vault client cache
// key) asks the API server once per TTL, not once per reconcile, and still
// names the field when the ServiceAccount is missing.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { KubeClient } from "../../src/kube/client.ts";
import { AuthConfigError, cachedServiceAccountUid } from "../../src/vault/login.ts";

function fakeKube(accounts: Record<string, string>) {
  const gets: string[] = [];
  const kube = {
    getOrNull: async (_r: unknown, ns: string, name: string) => {
      gets.push(`${ns}/${name}`);
      const uid = accounts[`${ns}/${name}`];
      return uid ? { metadata: { namespace: ns, name, uid } } : null;
    },
  } as unknown as KubeClient;
  return { kube, gets };
}

test("a UID is fetched once per TTL and per ServiceAccount", async () => {
  const { kube, gets } = fakeKube({ "a/sa": "uid-1", "b/sa": "uid-2" });
  const uid = cachedServiceAccountUid(kube, 50);
  assert.equal(await uid("a", "sa", "spec.kubernetes.serviceAccount"), "uid-1");
  assert.equal(await uid("a", "sa", "spec.kubernetes.serviceAccount"), "uid-1");
  assert.equal(await uid("b", "sa", "spec.kubernetes.serviceAccount"), "uid-2");
  assert.deepEqual(gets, ["a/sa", "b/sa"]);
  await new Promise((r) => setTimeout(r, 80));
  await uid("a", "sa", "spec.kubernetes.serviceAccount");
  assert.deepEqual(gets, ["a/sa", "b/sa", "a/sa"], "asked again once the TTL passed");
});

test("a missing ServiceAccount is a configuration error naming the field, and is not remembered", async () => {
  const accounts: Record<string, string> = {};
  const { kube, gets } = fakeKube(accounts);
  const uid = cachedServiceAccountUid(kube, 60_000);
  await assert.rejects(uid("a", "sa", "spec.jwt.serviceAccount"), (err: unknown) => {
    assert.ok(err instanceof AuthConfigError);
    assert.equal(err.field, "spec.jwt.serviceAccount");
    assert.match(err.message, /ServiceAccount a\/sa not found/);
    return true;
  });
  accounts["a/sa"] = "uid-new";
  assert.equal(await uid("a", "sa", "spec.jwt.serviceAccount"), "uid-new", "created since: found at once");
  assert.equal(gets.length, 2);
});

test("reconciles that miss together share one GET", async () => {
  const { kube, gets } = fakeKube({ "a/sa": "uid-1" });
  const uid = cachedServiceAccountUid(kube, 60_000);
  const got = await Promise.all(
    Array.from({ length: 50 }, () => uid("a", "sa", "spec.kubernetes.serviceAccount")),
  );
  assert.ok(got.every((u) => u === "uid-1"));
  assert.deepEqual(gets, ["a/sa"]);
});
