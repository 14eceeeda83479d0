// The operator's life in the cluster after `helm install`: an upgrade rolls
// it, two replicas hand over leadership without new credentials or restarts,
// deleting a VaultDynamicSecret revokes its lease from the in-cluster operator,
// and `kubectl apply -f deploy/install.yaml` installs and uninstalls cleanly.
// Every test installs into a namespace of its own, as a uniquely named release
// watching only that namespace, so it runs alongside the other tests.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { parseAllDocuments, stringify } from "yaml";
import { REPO_ROOT } from "../../src/dev/paths.ts";
import { auditLogPath } from "../../src/dev/servers/kube.ts";
import { CORE, type ResourceType } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { dbSetup, leaseCount, restartStamp, vds } from "../support/db.ts";
import { eventually, pgQuery, type TestEnv, testEnv, uniqueName } from "../support/env.ts";
import {
  CHART,
  helm,
  inClusterStaticSecret,
  inClusterSynced,
  leaseHolder,
  loadOperatorImage,
  operatorLog,
  type Release,
  readyOperatorPods,
  releaseNamespace,
  relocatedInstallManifest,
} from "../support/incluster.ts";
import { execFileP, kubectl } from "../support/kubectl.ts";
import { podLogs, requireNode } from "../support/node.ts";
import { decoded, getStatus, kvPut, waitForSecret } from "../support/operator.ts";

const TIMEOUT = { timeout: 420_000 };

/** dbSetup's VaultConnection points at OpenBao's address on the host; Pods reach it on the node IP. */
async function dbSetupInCluster(env: TestEnv, ns: string, ttl: string, maxTtl: string) {
  const db = await dbSetup(env, ns, ttl, maxTtl);
  await env.kube.patch(VSO.VaultConnection, ns, "default", {
    spec: { address: env.state.node?.vaultAddress },
  });
  return db;
}

test("helm upgrade with changed values rolls the operator Pod, and syncing goes on", TIMEOUT, async (t) => {
  const env = await testEnv();
  if (!requireNode(t, env)) return;
  const { ns, install } = await releaseNamespace(t, env, "upg");
  const rel = await install();
  const before = await readyOperatorPods(env, rel);
  assert.equal(before.length, 1, "one operator Pod Ready after the install");
  const old = before[0].metadata.name;
  assert.equal(await eventually("the leader Lease", () => leaseHolder(env, ns)), old);
  const password = `pw-${randomBytes(8).toString("hex")}`;
  await inClusterStaticSecret(env, ns, password, rel);

  const started = Date.now();
  await helm(env, [
    "upgrade",
    rel.name,
    CHART,
    "--namespace",
    ns,
    "--reuse-values",
    "--set",
    "controller.manager.maxConcurrentReconciles=10",
    "--wait",
    "--timeout",
    "3m",
  ]);
  const [fresh] = await eventually(
    "one Ready operator Pod, a new one",
    async () => {
      const pods = await readyOperatorPods(env, rel);
      return pods.length === 1 && pods[0].metadata.name !== old ? pods : null;
    },
    60_000,
  );
  assert.ok(
    fresh.spec.containers[0].args?.includes("--max-concurrent-reconciles=10"),
    "the new Pod runs with the changed value",
  );
  await eventually("the old Pod gone", async () => !(await env.kube.getOrNull(CORE.pods, ns, old)), 60_000);
  t.diagnostic(`upgrade to the old Pod gone: ${Date.now() - started} ms`);
  await eventually(
    "the new Pod leading",
    async () => (await leaseHolder(env, ns)) === fresh.metadata.name,
    30_000,
  );

  // A change in Vault after the upgrade reaches the Secret through the new Pod.
  await kvPut(env, `${ns}/db`, { password: `${password}-2` });
  await inClusterSynced(env, ns, `${password}-2`, 30_000, rel);
});

test(
  "two replicas: both Ready, one leads; deleting the leader's Pod hands over with no new credentials or restarts",
  TIMEOUT,
  async (t) => {
    const env = await testEnv();
    if (!requireNode(t, env)) return;
    const { ns, install } = await releaseNamespace(t, env, "ha");
    // TTL 20s renewed at half: renewals go on under the new leader, with the same lease.
    const { role } = await dbSetupInCluster(env, ns, "20s", "600s");
    await env.kube.create(CORE.deployments, ns, {
      metadata: { name: "web" },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "c", image: "docker.io/library/busybox:1.35" }] },
        },
      },
    });
    const rel = await install(["--set", "controller.replicas=2"]);
    const pods = (await readyOperatorPods(env, rel)).map((p) => p.metadata.name);
    assert.equal(pods.length, 2, "both replicas Ready");
    const leader = await eventually("a leader", async () => {
      const h = await leaseHolder(env, ns);
      return h && pods.includes(h) ? h : null;
    });
    const standby = pods.find((p) => p !== leader) ?? "";
    assert.match(await podLogs(env, ns, `pod/${leader}`), /became leader/);
    const standbyLog = await podLogs(env, ns, `pod/${standby}`);
    assert.match(standbyLog, /waiting for leadership/);
    assert.doesNotMatch(standbyLog, /became leader|operator started/, "the standby runs no controllers");

    await env.kube.create(
      VSO.VaultDynamicSecret,
      ns,
      vds("creds", {
        path: `creds/${role}`,
        renewalPercent: 50,
        revoke: true,
        rolloutRestartTargets: [{ kind: "Deployment", name: "web" }],
      }),
    );
    const issued = decoded(
      await waitForSecret(env, ns, "creds", () => true, 60_000).catch(async (err) => {
        throw new Error(`${err}\n${await operatorLog(env, rel)}`);
      }),
    );
    assert.equal(await leaseCount(env, role), 1);
    const stamp = await restartStamp(env, ns);

    const deleted = Date.now();
    await env.kube.delete(CORE.pods, ns, leader);
    const next = await eventually(
      "another replica taking the Lease",
      async () => {
        const h = await leaseHolder(env, ns);
        return h && h !== leader ? h : null;
      },
      30_000,
      100,
    );
    const handover = Date.now() - deleted;
    t.diagnostic(
      `leader Pod deleted to Lease taken by ${next === standby ? "the standby" : `the new Pod ${next}`}: ${handover} ms`,
    );
    // Either surviving replica may win: the standby, or the Pod the ReplicaSet
    // creates for the deleted one (both poll the released Lease; client-go makes
    // no promise either). What matters is a prompt handover to a live replica.
    assert.notEqual(next, leader, "another replica took over");
    assert.ok(handover < 15_000, `handover within 15 s (took ${handover} ms)`);

    await eventually(
      "the old leader's Pod gone",
      async () => !(await env.kube.getOrNull(CORE.pods, ns, leader)),
      60_000,
    );
    t.diagnostic(`old leader's Pod gone ${Date.now() - deleted} ms after its deletion`);

    // The new leader renews the same lease: a renewal after the takeover, nothing new issued.
    const atTakeover = (await getStatus(env, "VaultDynamicSecret", ns, "creds")).lastRenewalTime as number;
    await eventually(
      "a renewal by the new leader",
      async () =>
        ((await getStatus(env, "VaultDynamicSecret", ns, "creds")).lastRenewalTime as number) > atTakeover,
      40_000,
      500,
    );
    const now = decoded(await env.kube.get(CORE.secrets, ns, "creds"));
    assert.equal(now.username, issued.username, "same credentials after the leader change");
    assert.equal(now.password, issued.password, "same credentials after the leader change");
    assert.equal(await leaseCount(env, role), 1, "no new lease in Vault");
    assert.equal(await restartStamp(env, ns), stamp, "no rollout restart of the target");
  },
);

test(
  "in-cluster revocation: deleting a VaultDynamicSecret with revoke: true revokes its lease",
  TIMEOUT,
  async (t) => {
    const env = await testEnv();
    if (!requireNode(t, env)) return;
    const { ns, install } = await releaseNamespace(t, env, "rev");
    const { role } = await dbSetupInCluster(env, ns, "1h", "2h");
    const rel = await install();
    await env.kube.create(VSO.VaultDynamicSecret, ns, vds("creds", { path: `creds/${role}`, revoke: true }));
    const creds = decoded(
      await waitForSecret(env, ns, "creds", () => true, 60_000).catch(async (err) => {
        throw new Error(`${err}\n${await operatorLog(env, rel)}`);
      }),
    );
    assert.equal(await leaseCount(env, role), 1);
    const login = await pgQuery(env, creds.username, creds.password);
    assert.ok(login.ok, `the issued credentials log in: ${login.ok ? "" : login.error}`);

    await env.kube.delete(VSO.VaultDynamicSecret, ns, "creds");
    await eventually(
      "the VaultDynamicSecret gone (finalizer released after revocation)",
      async () => !(await env.kube.getOrNull(VSO.VaultDynamicSecret, ns, "creds")),
      30_000,
    );
    assert.equal(await leaseCount(env, role), 0, "the lease is revoked");
    const after = await pgQuery(env, creds.username, creds.password);
    assert.equal(after.ok, false, "the revoked credentials no longer log in");
    assert.match(after.ok ? "" : after.error, /authentication failed|does not exist/);
  },
);

const CLUSTER_ROLES: ResourceType = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  plural: "clusterroles",
  kind: "ClusterRole",
  namespaced: false,
};
const RESOURCE_TYPES: Record<string, ResourceType> = {
  ClusterRole: CLUSTER_ROLES,
  ClusterRoleBinding: CORE.clusterrolebindings,
  ServiceAccount: CORE.serviceaccounts,
  Deployment: CORE.deployments,
  Service: { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true },
  Role: { ...CLUSTER_ROLES, plural: "roles", kind: "Role", namespaced: true },
  RoleBinding: { ...CLUSTER_ROLES, plural: "rolebindings", kind: "RoleBinding", namespaced: true },
};

test(
  "kubectl apply -f deploy/install.yaml installs the operator, and the documented steps remove it",
  TIMEOUT,
  async (t) => {
    const env = await testEnv();
    if (!requireNode(t, env)) return;
    await loadOperatorImage(env);
    const ns = uniqueName("kapply");
    const suffix = ns.slice("kapply-".length);
    const objects = relocatedInstallManifest(
      readFileSync(join(REPO_ROOT, "deploy", "install.yaml"), "utf8"),
      ns,
      suffix,
    );
    const dir = mkdtempSync(join(tmpdir(), "vso-install-yaml-"));
    const file = join(dir, "install.yaml");
    writeFileSync(file, objects.map((o) => stringify(o)).join("---\n"));
    t.after(async () => {
      // Only reached with something left when the test failed before its own uninstall.
      await kubectl(env, [
        "delete",
        "-f",
        file,
        "-l",
        "app.kubernetes.io/instance=vault-secrets-operator",
        "--ignore-not-found",
        "--wait=false",
      ]);
      await env.kube.delete(CORE.namespaces, undefined, ns).catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    });
    const chartObjects = objects.filter(
      (o) => o.kind !== "CustomResourceDefinition" && o.kind !== "Namespace",
    );
    for (const o of chartObjects)
      assert.ok(RESOURCE_TYPES[o.kind], `a known kind in install.yaml: ${o.kind}`);
    const deployment = chartObjects.find((o) => o.kind === "Deployment")?.metadata.name ?? "";
    assert.equal(deployment, "vault-secrets-operator-controller-manager");

    const applied = await kubectl(env, ["apply", "--server-side", "-f", file]);
    assert.equal(applied.code, 0, applied.stderr);
    const rel: Release = {
      name: "vault-secrets-operator",
      namespace: ns,
      deployment,
      selector:
        "app.kubernetes.io/name=vault-secrets-operator,app.kubernetes.io/instance=vault-secrets-operator",
    };
    await eventually(
      "the operator Deployment Ready",
      async () => {
        const d = await env.kube.get<{ metadata: object; status?: { readyReplicas?: number } }>(
          CORE.deployments,
          ns,
          deployment,
        );
        return d.status?.readyReplicas === 1;
      },
      120_000,
      500,
    ).catch(async (err) => {
      throw new Error(`${err}\n${await operatorLog(env, rel)}`);
    });
    const password = `pw-${randomBytes(8).toString("hex")}`;
    await inClusterStaticSecret(env, ns, password, rel);
    const vss = await env.kube.get<{ metadata: { finalizers?: string[] } }>(VSO.VaultStaticSecret, ns, "db");
    assert.ok((vss.metadata.finalizers ?? []).length > 0, "the operator put its finalizer on the resource");

    // docs/install.md, "Uninstalling" without Helm (with --watch-namespaces, as this copy's operator has).
    const scaled = await kubectl(env, ["scale", "-n", ns, `deployment/${deployment}`, "--replicas=0"]);
    assert.equal(scaled.code, 0, scaled.stderr);
    await execFileP(
      process.execPath,
      [
        "--disable-warning=ExperimentalWarning",
        join(REPO_ROOT, "src", "cli", "main.ts"),
        "run",
        "--uninstall",
        `--kubeconfig=${env.state.kubeconfig}`,
        "--operator-namespace",
        ns,
        `--watch-namespaces=${ns}`,
      ],
      { env: { ...process.env, OPERATOR_DEPLOYMENT_NAME: deployment }, timeout: 120_000 },
    );
    const removed = await kubectl(env, [
      "delete",
      "-f",
      file,
      "-l",
      "app.kubernetes.io/instance=vault-secrets-operator",
    ]);
    assert.equal(removed.code, 0, removed.stderr);

    const left: string[] = [];
    for (const o of chartObjects) {
      const rt = RESOURCE_TYPES[o.kind];
      if (await env.kube.getOrNull(rt, rt.namespaced ? ns : undefined, o.metadata.name)) {
        left.push(`${o.kind}/${o.metadata.name}`);
      }
    }
    assert.deepEqual(left, [], "no object of install.yaml left but the CRDs and the namespace");
    assert.ok(
      chartObjects.some((o) => o.kind === "ClusterRole") &&
        chartObjects.some((o) => o.kind === "ClusterRoleBinding"),
      "cluster-scoped objects were among those checked",
    );
    for (const crd of objects.filter((o) => o.kind === "CustomResourceDefinition")) {
      assert.ok(
        await env.kube.getOrNull(CORE.crds, undefined, crd.metadata.name),
        `${crd.metadata.name} kept`,
      );
    }
    const kept = await env.kube.get<{ metadata: { finalizers?: string[] } }>(VSO.VaultStaticSecret, ns, "db");
    assert.deepEqual(kept.metadata.finalizers ?? [], [], "no finalizer left on the resource");
    assert.equal(
      decoded(await env.kube.get(CORE.secrets, ns, "db")).password,
      password,
      "the synced Secret stays",
    );
  },
);

/**
 * Permissions the chart grants that the in-cluster tests above do not make the
 * operator use, each with the code path that needs it. The end-to-end suite
 * proves these paths with the in-process operator, and
 * test/unit/chart.test.ts checks that the role equals the set derived from the code.
 */
const NEEDED_BUT_NOT_EXERCISED: Record<string, string> = {
  "|events|patch": "aggregated Events: a repeated Event is counted on the existing one",
  "|secrets|delete": "pruning the old destination after a rename, recreating it after a type change",
  "|secrets|patch": "taking over or updating the metadata of a destination Secret",
  "apps|deployments|get": "rolloutRestartTargets",
  "apps|deployments|patch": "rolloutRestartTargets",
  "apps|statefulsets|get": "rolloutRestartTargets",
  "apps|statefulsets|patch": "rolloutRestartTargets",
  "apps|daemonsets|get": "rolloutRestartTargets",
  "apps|daemonsets|patch": "rolloutRestartTargets",
  "argoproj.io|rollouts|get": "rolloutRestartTargets of kind argo.Rollout",
  "argoproj.io|rollouts|patch": "rolloutRestartTargets of kind argo.Rollout",
  "secrets.hashicorp.com|vaultpkisecrets|patch": "VaultPKISecret finalizer",
  "secrets.hashicorp.com|vaultpkisecrets/status|patch": "VaultPKISecret status",
  "secrets.hashicorp.com|secrettransformations/status|patch": "SecretTransformation validity conditions",
  "secrets.hashicorp.com|csisecrets/status|patch":
    "the Unsupported condition of kinds this build does not serve",
  "secrets.hashicorp.com|hcpauths/status|patch":
    "the Unsupported condition of kinds this build does not serve",
  "secrets.hashicorp.com|hcpvaultsecretsapps/status|patch":
    "the Unsupported condition of kinds this build does not serve",
};

test("least privilege: the operator's roles grant what it used in the cluster, plus only the documented rest", async (t) => {
  const env = await testEnv();
  if (!requireNode(t, env)) return;
  // What the in-cluster operators of this run did, from the API server's audit log (service accounts only).
  const used = new Set<string>();
  const text = readFileSync(auditLogPath(env.state.dir), "utf8");
  for (const line of text.split("\n")) {
    if (!line) continue;
    const e = JSON.parse(line) as {
      user: { username: string };
      verb: string;
      objectRef?: { apiGroup?: string; resource?: string; subresource?: string };
    };
    if (!/^system:serviceaccount:[^:]+:.*-controller-manager$/.test(e.user.username) || !e.objectRef)
      continue;
    const o = e.objectRef;
    used.add(`${o.apiGroup ?? ""}|${o.resource}${o.subresource ? `/${o.subresource}` : ""}|${e.verb}`);
  }
  assert.ok(used.size > 20, `the audit log recorded the in-cluster operators (${used.size} permissions)`);

  const { stdout } = await helm(env, [
    "template",
    "vault-secrets-operator",
    CHART,
    "--namespace",
    "vso-rbac-check",
  ]);
  const granted = new Set<string>();
  for (const doc of parseAllDocuments(stdout)) {
    const o = doc.toJS() as {
      kind?: string;
      metadata?: { name?: string };
      rules?: { apiGroups?: string[]; resources: string[]; verbs: string[] }[];
    } | null;
    if (!o || (o.kind !== "ClusterRole" && o.kind !== "Role")) continue;
    if (!/-(manager-role|leader-election-role|metrics-auth-role)$/.test(o.metadata?.name ?? "")) continue;
    for (const r of o.rules ?? []) {
      for (const g of r.apiGroups ?? [""])
        for (const res of r.resources) for (const v of r.verbs) granted.add(`${g}|${res}|${v}`);
    }
  }
  assert.ok(!granted.has("*|*|*") && ![...granted].some((p) => p.includes("*")), "no wildcard grants");
  const missing = [...used].filter((p) => !granted.has(p));
  assert.deepEqual(missing, [], "every permission used is granted");
  const unused = [...granted].filter((p) => !used.has(p)).sort();
  const undocumented = unused.filter((p) => !(p in NEEDED_BUT_NOT_EXERCISED));
  t.diagnostic(
    `used ${used.size} of ${granted.size} granted permissions; not exercised here: ${unused.join(", ")}`,
  );
  assert.deepEqual(
    undocumented,
    [],
    "the roles grant nothing beyond what the operator uses or is documented to need",
  );
});
