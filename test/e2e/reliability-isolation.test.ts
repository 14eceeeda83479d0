// Issue 10, defect 3: one VaultStaticSecret whose output is too large (a 4 MiB
// KV secret, or a template producing 50 MB) used to break the operator's
// HTTP/2 session to the API server for good, and every resource stopped
// syncing. Oversize output is now refused before any request, with a
// condition naming the field, and a broken connection is replaced.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import type { ManagerHandle } from "../../src/operator/manager.ts";
import { VSO } from "../../src/operator/resources.ts";
import { isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForCondition,
  waitForSecret,
} from "../support/operator.ts";

async function vss(env: TestEnv, ns: string, name: string, spec: Record<string, unknown>) {
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name },
    spec: { mount: "secret", type: "kv-v2", destination: { name, create: true }, ...spec },
  });
}

async function reconcileErrors(mgr: ManagerHandle, controller: string): Promise<number> {
  const m = await mgr.ctx.metrics.reconcileErrors.get();
  return m.values.find((v) => v.labels.controller === controller)?.value ?? 0;
}

test("oversize output is refused with a condition and the other resources keep syncing", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "rel-iso");
  await defaultConnectionAndAuth(env, ns, await vaultRoleFor(env, ns));
  const mgr = await startOperator(t, env, { namespaces: [ns] });

  await kvPut(env, `${ns}/good`, { v: "alpha" });
  await kvPut(env, `${ns}/huge`, { blob: "x".repeat(4 * 1024 * 1024) });
  await vss(env, ns, "good", { path: `${ns}/good`, refreshAfter: "1s" });
  await waitForSecret(env, ns, "good", (s) => decoded(s).v === "alpha");

  // Two bad resources: a 4 MiB KV secret, and a template that would produce 50 MB.
  await vss(env, ns, "huge", { path: `${ns}/huge`, refreshAfter: "1s" });
  await vss(env, ns, "bigtmpl", {
    path: `${ns}/good`,
    refreshAfter: "1s",
    destination: {
      name: "bigtmpl",
      create: true,
      transformation: { templates: { big: { text: '{{ repeat 50000000 "x" }}' } } },
    },
  });
  await waitForCondition(
    env,
    "VaultStaticSecret",
    ns,
    "huge",
    "SecretSynced",
    "False",
    /spec\.destination: .*1048576/,
  );
  await waitForCondition(
    env,
    "VaultStaticSecret",
    ns,
    "bigtmpl",
    "SecretSynced",
    "False",
    /spec\.destination\.transformation\.templates\.big: .*limit of 1048576/,
  );
  assert.equal(await env.kube.getOrNull(CORE.secrets, ns, "huge"), null, "nothing was written for huge");
  assert.equal(
    await env.kube.getOrNull(CORE.secrets, ns, "bigtmpl"),
    null,
    "nothing was written for bigtmpl",
  );
  assert.ok((await reconcileErrors(mgr, "vaultstaticsecret")) > 0, "the failures count as reconcile errors");

  // The good resource keeps syncing while the bad ones keep failing.
  await kvPut(env, `${ns}/good`, { v: "bravo" });
  await waitForSecret(env, ns, "good", (s) => decoded(s).v === "bravo", 15_000);

  // Whatever breaks the connection to the API server (here: a 60 MB request
  // on the operator's own client), the operator's other traffic goes on.
  const kube = mgr.ctx.kube;
  const hugeBody = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "not-sent-by-the-operator" },
    stringData: { blob: "y".repeat(60 * 1024 * 1024) },
  };
  await assert.rejects(kube.create(CORE.secrets, ns, hugeBody));
  t.diagnostic(`connection pool replacements after the oversize request: ${kube.transportResets}`);
  await kvPut(env, `${ns}/good`, { v: "charlie" });
  await waitForSecret(env, ns, "good", (s) => decoded(s).v === "charlie", 15_000);

  // Deleting the bad resources changes nothing for the good one.
  await env.kube.delete(VSO.VaultStaticSecret, ns, "huge");
  await env.kube.delete(VSO.VaultStaticSecret, ns, "bigtmpl");
  await kvPut(env, `${ns}/good`, { v: "delta" });
  await waitForSecret(env, ns, "good", (s) => decoded(s).v === "delta", 15_000);
});
