// Typed failures in the controller runtime, against the real servers: a Vault
// error is a transient failure, counted in controller_runtime_reconcile_errors_total
// and retried with backoff; --backoff-max-elapsed-time stops the retries (VSO:
// "stops retrying and leaves stale secrets") until the resource changes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CORE } from "../../src/kube/client.ts";
import type { ManagerHandle } from "../../src/operator/manager.ts";
import { VSO } from "../../src/operator/resources.ts";
import { isolatedNamespace, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForCondition,
  waitForSecret,
} from "../support/operator.ts";

async function count(mgr: ManagerHandle, result: string): Promise<number> {
  const m = await mgr.ctx.metrics.reconcileTotal.get();
  return (
    m.values.find((v) => v.labels.controller === "vaultstaticsecret" && v.labels.result === result)?.value ??
    0
  );
}

async function errors(mgr: ManagerHandle): Promise<number> {
  const m = await mgr.ctx.metrics.reconcileErrors.get();
  return m.values.find((v) => v.labels.controller === "vaultstaticsecret")?.value ?? 0;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("--backoff-max-elapsed-time stops retrying a Vault error until the resource changes", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "rel-backoff");
  await defaultConnectionAndAuth(env, ns, await vaultRoleFor(env, ns));
  // Retries at 0.5 s, 0.75 s, 1.1 s ... and none once 3 s have passed since the first failure.
  const mgr = await startOperator(t, env, { namespaces: [ns], args: ["--backoff-max-elapsed-time=3s"] });
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name: "missing" },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path: `${ns}/not-yet`,
      refreshAfter: "1s",
      destination: { name: "missing", create: true },
    },
  });
  await waitForCondition(env, "VaultStaticSecret", ns, "missing", "SecretSynced", "False");
  // 3 s of retries, then none: wait until the count has settled (a loaded machine delays the last ones).
  await sleep(4000);
  let failed = await count(mgr, "error");
  for (let prev = -1, end = Date.now() + 15_000; failed !== prev && Date.now() < end; ) {
    prev = failed;
    await sleep(2000);
    failed = await count(mgr, "error");
  }
  assert.ok(failed >= 3, `retried with backoff first (${failed} failed reconciles)`);
  assert.equal(await errors(mgr), failed, "every failure counts in reconcile_errors_total");
  assert.equal(await count(mgr, "success"), 0, "a failure is never counted as a success");

  // Given up: the secret appears in Vault but nothing retries, for longer than the refresh and backoff intervals.
  await kvPut(env, `${ns}/not-yet`, { v: "now-here" });
  await sleep(4000);
  assert.equal(await count(mgr, "error"), failed, "no more attempts after giving up");
  assert.equal(
    await env.kube.getOrNull(CORE.secrets, ns, "missing"),
    null,
    "the Secret stays absent (stale)",
  );

  // A change of the resource starts a new attempt, which now succeeds.
  const live = (await env.kube.get(VSO.VaultStaticSecret, ns, "missing")) as unknown as {
    spec: { refreshAfter: string };
  };
  live.spec.refreshAfter = "2s";
  await env.kube.replace(VSO.VaultStaticSecret, ns, "missing", live);
  assert.equal(decoded(await waitForSecret(env, ns, "missing")).v, "now-here");
  t.diagnostic(`failed reconciles before giving up: ${failed}`);
});
