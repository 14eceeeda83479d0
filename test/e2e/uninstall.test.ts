// `vso run --uninstall` (the Helm pre-delete hook) against the real API server:
// it scales the operator Deployment to zero and waits its Pods out, removes the
// operator's finalizers (the one a real operator put on a VaultConnection, and
// VSO's on the other kinds) while keeping foreign finalizers and the resources
// themselves, unblocks a resource already being deleted, leaves namespaces it
// does not watch alone, and a second run changes nothing. It runs with the
// token of the chart's hook ServiceAccount and RBAC (rendered by the real helm),
// so those permissions are proven sufficient. An operator still holding the
// leader Lease makes it wait and then fail without touching anything. And a real
// `helm install` / `helm uninstall` runs the hook (for real on the local node;
// without one the test plays the Job's Pod) and keeps the CRDs, the resources
// and a destination Secret synced beforehand.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { parse, parseAllDocuments, stringify } from "yaml";
import { API_VERSION, Finalizer, KINDS } from "../../src/api/index.ts";
import { REPO_ROOT, toolPaths } from "../../src/dev/paths.ts";
import { CORE, type KubeObject, type ResourceType } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { spawnOperator } from "../support/db.ts";
import { eventually, isolatedNamespace, type TestEnv, testEnv, uniqueName } from "../support/env.ts";
import { loadOperatorImage } from "../support/incluster.ts";
import { kubectl } from "../support/kubectl.ts";
import { decoded, kvPut, type SecretLike, vaultRoleFor, waitForSecret } from "../support/operator.ts";

const FOREIGN = "example.com/keep";
const LEASE = "b0d477c0.hashicorp.com";

/**
 * Installs the chart's pre-delete hook RBAC (everything but the Job) for `release` in `ns` and
 * returns a kubeconfig that authenticates as the hook's ServiceAccount.
 */
async function hookCredentials(t: TestContext, env: TestEnv, release: string, ns: string): Promise<string> {
  const chart = join(REPO_ROOT, "deploy/chart/vault-secrets-operator");
  const r = spawnSync(
    toolPaths().helm,
    ["template", release, chart, "--namespace", ns, "--show-only", "templates/hook-pre-delete.yaml"],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  const rbac = r.stdout
    .split(/^---$/m)
    .filter((doc) => !/^kind: Job$/m.test(doc))
    .join("---\n");
  const applied = await kubectl(env, ["apply", "-f", "-"], rbac);
  assert.equal(applied.code, 0, applied.stderr);
  t.after(() => kubectl(env, ["delete", "-f", "-", "--ignore-not-found"], rbac));
  const sa = parseAllDocuments(rbac)
    .map((d) => d.toJS() as { kind?: string; metadata?: { name: string } } | null)
    .find((o) => o?.kind === "ServiceAccount")?.metadata?.name;
  assert.ok(sa);
  return await serviceAccountKubeconfig(t, env, ns, sa);
}

/** A kubeconfig for the environment's API server that authenticates as ServiceAccount `ns/sa`. */
async function serviceAccountKubeconfig(
  t: TestContext,
  env: TestEnv,
  ns: string,
  sa: string,
): Promise<string> {
  const token = await kubectl(env, ["create", "token", sa, "-n", ns, "--duration=10m"]);
  assert.equal(token.code, 0, token.stderr);
  const kc = parse(readFileSync(env.state.kubeconfig, "utf8")) as {
    users: { name: string; user: Record<string, string> }[];
  };
  kc.users = kc.users.map((u) => ({ name: u.name, user: { token: token.stdout.trim() } }));
  const dir = mkdtempSync(join(tmpdir(), "vso-uninstall-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "kubeconfig"), stringify(kc));
  return join(dir, "kubeconfig");
}

async function runUninstall(
  kubeconfig: string,
  deployment: string | undefined,
  operatorNs: string,
  watched: string[],
  timeoutSeconds = 60,
): Promise<{ code: number | null; logs: Record<string, unknown>[]; ms: number }> {
  const t0 = Date.now();
  const child = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      join(REPO_ROOT, "src/cli/main.ts"),
      "run",
      "--uninstall",
      `--kubeconfig=${kubeconfig}`,
      `--operator-namespace=${operatorNs}`,
      `--watch-namespaces=${watched.join(",")}`,
      `--pre-delete-hook-timeout-seconds=${timeoutSeconds}`,
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
      env: { ...process.env, OPERATOR_DEPLOYMENT_NAME: deployment ?? "" },
    },
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

  const release = uniqueName("uninst");
  const deployment = `${release}-vault-secrets-operator-controller-manager`;
  const kubeconfig = await hookCredentials(t, env, release, opNs);

  // The operator Deployment as the chart would name it, and its Pod. The environment runs no
  // ReplicaSet controller and no node, so the test plays the ReplicaSet: it creates the Pod and
  // deletes it once the Deployment is scaled to zero.
  const labels = { "control-plane": "controller-manager", "app.kubernetes.io/instance": "uninst" };
  const podSpec = { containers: [{ name: "manager", image: "vso-ts:0.0.0-test" }] };
  await env.kube.create(CORE.deployments, opNs, {
    metadata: { name: deployment },
    spec: {
      replicas: 1,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: podSpec },
    },
  });
  await env.kube.create(CORE.pods, opNs, { metadata: { name: `${deployment}-0`, labels }, spec: podSpec });
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

  const running = runUninstall(kubeconfig, deployment, opNs, [appNs]);
  await eventually("the Deployment scaled to zero", async () => {
    const d = (await env.kube.get(CORE.deployments, opNs, deployment)) as KubeObject & {
      spec: { replicas: number };
    };
    return d.spec.replicas === 0;
  });
  // While an operator Pod exists, no finalizer is touched.
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual((await env.kube.get(VSO.VaultAuth, appNs, "auth")).metadata.finalizers, [
    Finalizer.VaultAuth,
  ]);
  await env.kube.delete(CORE.pods, opNs, `${deployment}-0`);
  const first = await running;
  assert.equal(first.code, 0);
  const released = (run: { logs: Record<string, unknown>[] }) =>
    run.logs.filter((l) => l.msg === "finalizer removed").map((l) => l.resource as string);
  assert.deepEqual(released(first).sort(), [
    `VaultAuth ${appNs}/auth`,
    `VaultConnection ${opNs}/default`,
    `VaultDynamicSecret ${appNs}/vds-deleting`,
    `VaultPKISecret ${appNs}/pki`,
    `VaultStaticSecret ${appNs}/vss`,
  ]);
  const summary = first.logs.find((l) => l.msg === "operator finalizers removed");
  assert.deepEqual(
    { cleared: summary?.cleared, scaledDown: summary?.scaledDown },
    { cleared: 5, scaledDown: true },
  );
  t.diagnostic(`first uninstall run: ${first.ms} ms`);

  const dep = (await env.kube.get(CORE.deployments, opNs, deployment)) as KubeObject & {
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
      env.kube.get(CORE.deployments, opNs, deployment),
    ]).then((objs) => objs.map((o) => o.metadata.resourceVersion));
  const before = await versions();
  const second = await runUninstall(kubeconfig, deployment, opNs, [appNs]);
  assert.equal(second.code, 0);
  assert.deepEqual(released(second), []);
  const again = second.logs.find((l) => l.msg === "operator finalizers removed");
  assert.deepEqual(
    { cleared: again?.cleared, scaledDown: again?.scaledDown },
    { cleared: 0, scaledDown: false },
  );
  assert.deepEqual(await versions(), before);
  t.diagnostic(`second uninstall run: ${second.ms} ms`);
});

test("uninstall waits for the leader Lease to be free and fails, touching nothing, while an operator holds it", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "uninst-lease");
  t.after(async () => {
    await env.kube
      .patch(VSO.VaultAuth, ns, "auth", { metadata: { finalizers: null } }, "merge")
      .catch(() => {});
  });
  await env.kube.create(VSO.VaultAuth, ns, cr("VaultAuth", "auth", {}, [Finalizer.VaultAuth]));
  // An operator started without a Deployment (OPERATOR_DEPLOYMENT_NAME unset) that still leads.
  const renew = () => new Date().toISOString().replace("Z", "000Z");
  await env.kube.create(CORE.leases, ns, {
    metadata: { name: LEASE },
    spec: { holderIdentity: "op-elsewhere", leaseDurationSeconds: 60, renewTime: renew() },
  });
  const held = await runUninstall(env.state.kubeconfig, undefined, ns, [ns], 3);
  assert.equal(held.code, 1);
  const failure = held.logs.find((l) => l.msg === "uninstall cleanup failed");
  assert.match(String(failure?.err), /op-elsewhere\) still holds the leader Lease/);
  assert.deepEqual((await env.kube.get(VSO.VaultAuth, ns, "auth")).metadata.finalizers, [
    Finalizer.VaultAuth,
  ]);

  // Released on shutdown: the cleanup proceeds.
  await env.kube.patch(CORE.leases, ns, LEASE, { spec: { holderIdentity: "" } }, "merge");
  const released = await runUninstall(env.state.kubeconfig, undefined, ns, [ns], 10);
  assert.equal(released.code, 0);
  assert.deepEqual((await env.kube.get(VSO.VaultAuth, ns, "auth")).metadata.finalizers ?? [], []);
});

type HookJob = KubeObject & {
  spec: {
    template: {
      spec: {
        serviceAccountName: string;
        containers: { args: string[]; env: { name: string; value?: string }[] }[];
      };
    };
  };
};

/** Runs the hook Job's container as a process, as its Pod would, and marks the Job complete. */
async function playHookPod(
  t: TestContext,
  env: TestEnv,
  ns: string,
  job: HookJob,
  jobs: ResourceType,
  jobName: string,
): Promise<void> {
  // Play its Pod: the container's args and env, with the Pod's ServiceAccount and namespace.
  const pod = job.spec.template.spec;
  const kubeconfig = await serviceAccountKubeconfig(t, env, ns, pod.serviceAccountName);
  const container = pod.containers[0];
  const child = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      join(REPO_ROOT, "src/cli/main.ts"),
      ...container.args,
      `--kubeconfig=${kubeconfig}`,
      `--operator-namespace=${ns}`,
    ],
    {
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        ...Object.fromEntries(
          container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]),
        ),
      },
    },
  );
  const [code] = (await once(child, "exit")) as [number | null];
  assert.equal(code, 0);
  const now = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const done = { status: "True", lastProbeTime: now, lastTransitionTime: now };
  await env.kube.patch(
    jobs,
    ns,
    jobName,
    {
      status: {
        startTime: now,
        completionTime: now,
        succeeded: 1,
        conditions: [
          { type: "SuccessCriteriaMet", ...done },
          { type: "Complete", ...done },
        ],
      },
    },
    "merge",
    { subresource: "status" },
  );
}

/**
 * VaultConnection and VaultAuth `default` in `ns` (reachable from Pods when the node runs), and
 * VaultStaticSecret `name` synced to Secret `name` by an operator process stopped once it is there.
 */
async function syncedSecret(t: TestContext, env: TestEnv, ns: string, name: string, value: string) {
  const role = await vaultRoleFor(env, ns);
  await env.kube.create(VSO.VaultConnection, ns, {
    apiVersion: API_VERSION,
    kind: "VaultConnection",
    metadata: { name: "default" },
    spec: { address: env.state.node?.vaultAddress ?? env.state.vault.address },
  });
  await env.kube.create(VSO.VaultAuth, ns, {
    apiVersion: API_VERSION,
    kind: "VaultAuth",
    metadata: { name: "default" },
    spec: { method: "kubernetes", mount: "kubernetes", kubernetes: { role, serviceAccount: "app" } },
  });
  await kvPut(env, `${ns}/${name}`, { value });
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: API_VERSION,
    kind: "VaultStaticSecret",
    metadata: { name },
    spec: { mount: "secret", type: "kv-v2", path: `${ns}/${name}`, destination: { name, create: true } },
  });
  const op = spawnOperator(env, ns);
  t.after(() => op.kill("SIGKILL"));
  await waitForSecret(env, ns, name, (s) => decoded(s).value === value, 30_000);
  const exited = once(op, "exit");
  op.kill("SIGTERM");
  await exited;
}

test("helm uninstall: the pre-delete hook clears the finalizers, Helm removes the release, CRDs, resources and synced Secrets stay", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "uninst-helm");
  const release = uniqueName("h");
  const helm = (args: string[]) =>
    spawn(toolPaths().helm, [...args, "--namespace", ns, "--kubeconfig", env.state.kubeconfig], {
      stdio: ["ignore", "pipe", "pipe"],
    });
  const finish = async (child: ReturnType<typeof helm>) => {
    let out = "";
    child.stdout.on("data", (d: Buffer) => {
      out += d.toString("utf8");
    });
    child.stderr.on("data", (d: Buffer) => {
      out += d.toString("utf8");
    });
    const [code] = (await once(child, "exit")) as [number | null];
    return { code, out };
  };
  // Watching only the test namespace keeps the cleanup away from other tests' resources.
  const chart = join(REPO_ROOT, "deploy/chart/vault-secrets-operator");
  if (env.state.node) await loadOperatorImage(env); // the operator and the hook Job run for real
  // A destination Secret synced for real before the install, by an operator run here and stopped
  // (with the node, the in-cluster one then keeps it): `helm uninstall` must leave it in place.
  const value = `v-${randomBytes(8).toString("hex")}`;
  await syncedSecret(t, env, ns, "kept", value);
  const installed = await finish(
    helm(["install", release, chart, "--set", `controller.manager.extraArgs[0]=--watch-namespaces=${ns}`]),
  );
  assert.equal(installed.code, 0, installed.out);
  t.after(() => finish(helm(["uninstall", release, "--no-hooks", "--ignore-not-found"])));
  const deployment = `${release}-vault-secrets-operator-controller-manager`;
  assert.ok(await env.kube.getOrNull(CORE.deployments, ns, deployment));
  await env.kube.create(
    VSO.VaultStaticSecret,
    ns,
    cr("VaultStaticSecret", "vss", VSS_SPEC, [Finalizer.VaultStaticSecret]),
  );
  t.after(async () => {
    await env.kube
      .patch(VSO.VaultStaticSecret, ns, "vss", { metadata: { finalizers: null } }, "merge")
      .catch(() => {});
  });

  const t0 = Date.now();
  const uninstalling = finish(helm(["uninstall", release, "--timeout", "120s"]));
  // Helm creates the hook's ServiceAccount and RBAC, then the Job, and waits for it.
  const jobName = `${release}-vault-secrets-operator-pre-delete-controller-cleanup`;
  const jobs: ResourceType = { group: "batch", version: "v1", plural: "jobs", kind: "Job", namespaced: true };
  const job = await eventually("the hook Job", () => env.kube.getOrNull<HookJob>(jobs, ns, jobName), 60_000);
  // With the local node the Job's Pod really runs (the operator image is loaded above). Without
  // one, the test plays its Pod: the container's args and env, with its ServiceAccount and namespace.
  if (!env.state.node) await playHookPod(t, env, ns, job, jobs, jobName);
  const uninstalled = await uninstalling;
  assert.equal(uninstalled.code, 0, uninstalled.out);
  t.diagnostic(`helm uninstall with the hook: ${Date.now() - t0} ms`);

  // The release is gone, hook objects included; the resource stays, released.
  assert.equal(await env.kube.getOrNull(CORE.deployments, ns, deployment), null);
  assert.equal(await env.kube.getOrNull(jobs, ns, jobName), null);
  assert.equal(
    await env.kube.getOrNull(CORE.serviceaccounts, ns, job.spec.template.spec.serviceAccountName),
    null,
  );
  assert.deepEqual((await env.kube.get(VSO.VaultStaticSecret, ns, "vss")).metadata.finalizers ?? [], []);
  assert.deepEqual((await env.kube.get(VSO.VaultStaticSecret, ns, "kept")).metadata.finalizers ?? [], []);
  const kept = (await env.kube.getOrNull(CORE.secrets, ns, "kept")) as SecretLike | null;
  assert.ok(kept, "the synced Secret survives helm uninstall");
  assert.equal(decoded(kept).value, value, "with the data it was synced with");
  const crds = await env.kube.list(CORE.crds, undefined);
  assert.equal(
    crds.items.filter((c) => c.metadata.name?.endsWith(".secrets.hashicorp.com")).length,
    KINDS.length,
  );
});
