// `vso run --uninstall` (the Helm pre-delete hook) against the real API server:
// it scales the operator Deployment to zero and waits its Pods out, removes the
// operator's finalizers (the one a real operator put on a VaultConnection, and
// VSO's on the other kinds) while keeping foreign finalizers and the resources
// themselves, unblocks a resource already being deleted, leaves namespaces it
// does not watch alone, and a second run changes nothing.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { test } from "node:test";
import { API_VERSION, Finalizer } from "../../src/api/index.ts";
import { REPO_ROOT } from "../../src/dev/paths.ts";
import { CORE, type KubeObject } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { spawnOperator } from "../support/db.ts";
import { eventually, isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";

const FOREIGN = "example.com/keep";

async function runUninstall(
  env: TestEnv,
  operatorNs: string,
  watched: string[],
): Promise<{ code: number | null; logs: Record<string, unknown>[]; ms: number }> {
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      join(REPO_ROOT, "src/cli/main.ts"),
      "run",
      "--uninstall",
      `--kubeconfig=${env.state.kubeconfig}`,
      `--operator-namespace=${operatorNs}`,
      `--watch-namespaces=${watched.join(",")}`,
      "--pre-delete-hook-timeout-seconds=60",
    ],
    { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, OPERATOR_DEPLOYMENT_NAME: "vso-op" } },
  );
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString("utf8");
  });
  const [code] = (await once(child, "exit")) as [number | null];
  const logs = out
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, logs, ms: Date.now() - t0 };
}

function cr(kind: keyof typeof VSO, name: string, spec: Record<string, unknown>, finalizers: string[] = []) {
  return { apiVersion: API_VERSION, kind, metadata: { name, finalizers }, spec };
}

const VSS_SPEC = { mount: "secret", type: "kv-v2", path: "p", destination: { name: "d", create: true } };

test("uninstall: operator stopped, finalizers cleared in watched namespaces, resources kept, idempotent", async (t) => {
  const env = await testEnv();
  const opNs = await isolatedNamespace(t, env, "uninst-op");
  const appNs = await isolatedNamespace(t, env, "uninst-app");
  const otherNs = await isolatedNamespace(t, env, "uninst-other");
  // Finalizers that outlive the test would keep its namespaces from being deleted.
  t.after(async () => {
    for (const ns of [otherNs, appNs, opNs]) {
      for (const kind of [
        "VaultStaticSecret",
        "VaultConnection",
        "VaultAuth",
        "VaultPKISecret",
        "VaultDynamicSecret",
      ] as const) {
        for (const o of (await env.kube.list(VSO[kind], ns)).items) {
          await env.kube
            .patch(VSO[kind], ns, o.metadata.name ?? "", { metadata: { finalizers: null } }, "merge")
            .catch(() => {});
        }
      }
    }
  });

  // A finalizer put by the real operator: it reconciles a VaultConnection, then is stopped.
  const op = spawnOperator(env, opNs);
  t.after(() => op.kill("SIGKILL"));
  await env.kube.create(
    VSO.VaultConnection,
    opNs,
    cr("VaultConnection", "default", { address: env.state.vault.address }),
  );
  await eventually("the operator's finalizer on the VaultConnection", async () =>
    ((await env.kube.get(VSO.VaultConnection, opNs, "default")).metadata.finalizers ?? []).includes(
      Finalizer.VaultConnection,
    ),
  );
  op.kill("SIGTERM");
  await once(op, "exit");

  // The operator Deployment as the chart would name it, and its Pod. The environment runs no
  // ReplicaSet controller and no node, so the test plays the ReplicaSet: it creates the Pod and
  // deletes it once the Deployment is scaled to zero.
  const labels = { "control-plane": "controller-manager", "app.kubernetes.io/instance": "uninst" };
  const podSpec = { containers: [{ name: "manager", image: "vso-ts:0.0.0-test" }] };
  await env.kube.create(CORE.deployments, opNs, {
    metadata: { name: "vso-op" },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: podSpec },
    },
  });
  await env.kube.create(CORE.pods, opNs, { metadata: { name: "vso-op-0", labels }, spec: podSpec });
  const selector = Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");

  // VSO's finalizers on other kinds in a watched namespace, one next to a foreign finalizer.
  await env.kube.create(
    VSO.VaultStaticSecret,
    appNs,
    cr("VaultStaticSecret", "vss", VSS_SPEC, [Finalizer.VaultStaticSecret, FOREIGN]),
  );
  await env.kube.create(VSO.VaultAuth, appNs, cr("VaultAuth", "auth", {}, [Finalizer.VaultAuth]));
  await env.kube.create(
    VSO.VaultPKISecret,
    appNs,
    cr(
      "VaultPKISecret",
      "pki",
      { mount: "pki", role: "r", commonName: "a.example.com", destination: { name: "tls", create: true } },
      [Finalizer.VaultPKISecret],
    ),
  );
  // Being deleted, held only by the operator's finalizer.
  await env.kube.create(
    VSO.VaultDynamicSecret,
    appNs,
    cr(
      "VaultDynamicSecret",
      "vds-deleting",
      { mount: "database", path: "creds/r", destination: { name: "x" } },
      [Finalizer.VaultDynamicSecret],
    ),
  );
  await env.kube.delete(VSO.VaultDynamicSecret, appNs, "vds-deleting");
  assert.ok((await env.kube.get(VSO.VaultDynamicSecret, appNs, "vds-deleting")).metadata.deletionTimestamp);
  // A namespace the operator does not watch belongs to someone else.
  await env.kube.create(
    VSO.VaultStaticSecret,
    otherNs,
    cr("VaultStaticSecret", "vss", VSS_SPEC, [Finalizer.VaultStaticSecret]),
  );

  const running = runUninstall(env, opNs, [appNs]);
  await eventually("the Deployment scaled to zero", async () => {
    const d = (await env.kube.get(CORE.deployments, opNs, "vso-op")) as KubeObject & {
      spec: { replicas: number };
    };
    return d.spec.replicas === 0;
  });
  // While an operator Pod exists, no finalizer is touched.
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual((await env.kube.get(VSO.VaultAuth, appNs, "auth")).metadata.finalizers, [
    Finalizer.VaultAuth,
  ]);
  await env.kube.delete(CORE.pods, opNs, "vso-op-0");
  const first = await running;
  assert.equal(first.code, 0);
  const summary = first.logs.find((l) => l.msg === "operator finalizers removed");
  assert.deepEqual(
    { cleared: summary?.cleared, scaledDown: summary?.scaledDown },
    { cleared: 5, scaledDown: true },
  );
  t.diagnostic(`first uninstall run: ${first.ms} ms`);

  const dep = (await env.kube.get(CORE.deployments, opNs, "vso-op")) as KubeObject & {
    spec: { replicas: number };
  };
  assert.equal(dep.spec.replicas, 0);
  assert.equal((await env.kube.list(CORE.pods, opNs, { labelSelector: selector })).items.length, 0);

  const fin = async (rt: keyof typeof VSO, ns: string, name: string) =>
    (await env.kube.get(VSO[rt], ns, name)).metadata.finalizers ?? [];
  assert.deepEqual(await fin("VaultConnection", opNs, "default"), []);
  assert.deepEqual(await fin("VaultStaticSecret", appNs, "vss"), [FOREIGN]);
  assert.deepEqual(await fin("VaultAuth", appNs, "auth"), []);
  assert.deepEqual(await fin("VaultPKISecret", appNs, "pki"), []);
  assert.equal(await env.kube.getOrNull(VSO.VaultDynamicSecret, appNs, "vds-deleting"), null);
  assert.deepEqual(await fin("VaultStaticSecret", otherNs, "vss"), [Finalizer.VaultStaticSecret]);

  // Idempotent: nothing to stop, nothing to clear, no object written.
  const versions = async () =>
    Promise.all([
      env.kube.get(VSO.VaultConnection, opNs, "default"),
      env.kube.get(VSO.VaultStaticSecret, appNs, "vss"),
      env.kube.get(VSO.VaultAuth, appNs, "auth"),
      env.kube.get(VSO.VaultPKISecret, appNs, "pki"),
      env.kube.get(CORE.deployments, opNs, "vso-op"),
    ]).then((objs) => objs.map((o) => o.metadata.resourceVersion));
  const before = await versions();
  const second = await runUninstall(env, opNs, [appNs]);
  assert.equal(second.code, 0);
  const again = second.logs.find((l) => l.msg === "operator finalizers removed");
  assert.deepEqual(
    { cleared: again?.cleared, scaledDown: again?.scaledDown },
    { cleared: 0, scaledDown: false },
  );
  assert.deepEqual(await versions(), before);
  t.diagnostic(`second uninstall run: ${second.ms} ms`);
});
