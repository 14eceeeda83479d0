// Rollout restarts: a real Deployment's (and StatefulSet's, DaemonSet's, Argo
// Rollout's) pod template is patched only when the synced data changes, never
// on the first sync, and two changes within one second give two stamps.
import assert from "node:assert/strict";
import { test } from "node:test";
import { RESTARTED_AT_ANNOTATION } from "../../src/api/index.ts";
import { CORE, type ResourceType } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { ARGO_ROLLOUTS } from "../../src/operator/rollout.ts";
import { eventually, isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";
import {
  decoded,
  defaultConnectionAndAuth,
  kvPut,
  startOperator,
  vaultRoleFor,
  waitForSecret,
} from "../support/operator.ts";

const podTemplate = (app: string) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: "app", image: "example.invalid/app:1" }] },
});

async function workloads(env: TestEnv, ns: string) {
  await env.kube.create(CORE.deployments, ns, {
    metadata: { name: "web" },
    spec: { replicas: 1, selector: { matchLabels: { app: "web" } }, template: podTemplate("web") },
  });
  await env.kube.create(CORE.statefulsets, ns, {
    metadata: { name: "db" },
    spec: { serviceName: "db", selector: { matchLabels: { app: "db" } }, template: podTemplate("db") },
  });
  await env.kube.create(CORE.daemonsets, ns, {
    metadata: { name: "agent" },
    spec: { selector: { matchLabels: { app: "agent" } }, template: podTemplate("agent") },
  });
}

/** A minimal Rollout CRD so that argo.Rollout targets have something real to patch. */
async function ensureArgoRolloutCRD(env: TestEnv) {
  await env.kube
    .create(CORE.crds, undefined, {
      metadata: { name: "rollouts.argoproj.io" },
      spec: {
        group: "argoproj.io",
        names: { kind: "Rollout", plural: "rollouts", singular: "rollout", listKind: "RolloutList" },
        scope: "Namespaced",
        versions: [
          {
            name: "v1alpha1",
            served: true,
            storage: true,
            schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
          },
        ],
      },
    })
    .catch(() => {});
  await eventually("Rollout CRD served", async () => {
    await env.kube.list(ARGO_ROLLOUTS, "default");
    return true;
  });
}

async function annotation(env: TestEnv, rt: ResourceType, ns: string, name: string) {
  const w = (await env.kube.get(rt, ns, name)) as unknown as {
    spec: { template: { metadata?: { annotations?: Record<string, string> } } };
  };
  return w.spec.template.metadata?.annotations?.[RESTARTED_AT_ANNOTATION];
}

test("rolloutRestartTargets restart workloads only when the data changes", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "roll");
  const role = await vaultRoleFor(env, ns);
  await defaultConnectionAndAuth(env, ns, role);
  await workloads(env, ns);
  await ensureArgoRolloutCRD(env);
  await env.kube.create(ARGO_ROLLOUTS, ns, {
    apiVersion: "argoproj.io/v1alpha1",
    kind: "Rollout",
    metadata: { name: "canary" },
    spec: {},
  });
  await kvPut(env, `${ns}/app`, { v: "1" });
  await startOperator(t, env, { namespaces: [ns] });
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name: "app" },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path: `${ns}/app`,
      refreshAfter: "1s",
      destination: { name: "app", create: true },
      rolloutRestartTargets: [
        { kind: "Deployment", name: "web" },
        { kind: "StatefulSet", name: "db" },
        { kind: "DaemonSet", name: "agent" },
        { kind: "argo.Rollout", name: "canary" },
      ],
    },
  });
  await waitForSecret(env, ns, "app");
  // Several refreshes with unchanged data: no restart, and none for the first sync.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(await annotation(env, CORE.deployments, ns, "web"), undefined, "no restart on the first sync");

  await kvPut(env, `${ns}/app`, { v: "2" });
  const first = await eventually(
    "Deployment restarted",
    () => annotation(env, CORE.deployments, ns, "web"),
    10_000,
  );
  await eventually("StatefulSet restarted", () => annotation(env, CORE.statefulsets, ns, "db"), 5000);
  await eventually("DaemonSet restarted", () => annotation(env, CORE.daemonsets, ns, "agent"), 5000);
  const rollout = await eventually(
    "Rollout restartAt set",
    async () =>
      ((await env.kube.get(ARGO_ROLLOUTS, ns, "canary")) as unknown as { spec: { restartAt?: string } }).spec
        .restartAt,
    5000,
  );
  assert.ok(!Number.isNaN(Date.parse(rollout)));

  // Two changes in quick succession give two distinct stamps (VSO #1228).
  await kvPut(env, `${ns}/app`, { v: "3" });
  await waitForSecret(env, ns, "app", (s) => decoded(s).v === "3", 10_000);
  const second = await eventually(
    "second restart",
    async () => {
      const a = await annotation(env, CORE.deployments, ns, "web");
      return a !== first ? a : undefined;
    },
    10_000,
  );
  assert.ok(Date.parse(second!) > Date.parse(first), `${second} after ${first}`);
  // Stable again: no further restarts without changes.
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(await annotation(env, CORE.deployments, ns, "web"), second);
});
