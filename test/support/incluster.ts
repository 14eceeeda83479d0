// Installing the operator into the local node the way users do: the image
// loaded into the node's containerd, then the chart with the real helm.
import { execFile } from "node:child_process";
import { join } from "node:path";
import type { TestContext } from "node:test";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { importImage } from "../../src/dev/node/images.ts";
import { cachedOperatorImage } from "../../src/dev/operator-image.ts";
import { REPO_ROOT, toolPaths } from "../../src/dev/paths.ts";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { type TestEnv, uniqueName } from "./env.ts";
import { kubectl } from "./kubectl.ts";
import { decoded, kvPut, vaultRoleFor, waitForSecret } from "./operator.ts";

const execFileP = promisify(execFile);
export const CHART = join(REPO_ROOT, "deploy", "chart", "vault-secrets-operator");

let loaded: Promise<string> | undefined;

/** Builds (or takes from the cache) the operator image and imports it into the node; returns its name. */
export function loadOperatorImage(env: TestEnv): Promise<string> {
  loaded ??= (async () => {
    const node = env.state.node;
    if (!node) throw new Error("no local node");
    const img = await cachedOperatorImage();
    importImage(toolPaths().ctr, node.containerdSocket, img.file);
    return img.name;
  })();
  // A failure is not remembered: the next test tries again.
  loaded.catch(() => {
    loaded = undefined;
  });
  return loaded;
}

export async function helm(env: TestEnv, args: string[], timeoutMs = 300_000) {
  try {
    return await execFileP(toolPaths().helm, args, {
      env: { ...process.env, KUBECONFIG: env.state.kubeconfig },
      timeout: timeoutMs,
      maxBuffer: 32 << 20,
    });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    throw new Error(`helm ${args.join(" ")} failed: ${e.stderr || e.stdout || e.message}`);
  }
}

/** The image flags for the chart: the loaded operator image, never pulled. */
export function imageValues(image: string): string[] {
  const at = image.lastIndexOf(":");
  return [
    "--set",
    `controller.manager.image.repository=${image.slice(0, at)}`,
    "--set",
    `controller.manager.image.tag=${image.slice(at + 1)}`,
    "--set",
    "controller.manager.image.pullPolicy=Never",
  ];
}

export interface Release {
  name: string;
  namespace: string;
  /** The operator Deployment's name. */
  deployment: string;
  /** Label selector of the operator Pods. */
  selector: string;
}

/**
 * A namespace of its own for a test that installs the operator into it with helm. Each release is
 * limited to that namespace (--watch-namespaces), so tests running alongside are untouched, and
 * has a unique name, so its cluster-scoped RBAC does not collide with another release's. At the
 * end every release is uninstalled (its pre-delete hook clears the finalizers) before the
 * namespace is deleted: the other order would leave the hook Job nowhere to run.
 */
export async function releaseNamespace(t: TestContext, env: TestEnv, prefix: string) {
  const ns = uniqueName(prefix);
  await env.kube.create(CORE.namespaces, undefined, {
    metadata: { name: ns, labels: { "vso-ts.test": "true" } },
  });
  const releases: string[] = [];
  t.after(async () => {
    for (const r of releases) {
      await helm(env, ["uninstall", r, "--namespace", ns, "--wait", "--timeout", "3m"]).catch(async (err) => {
        t.diagnostic(`cleanup: ${(err as Error).message}; retrying without hooks`);
        await helm(env, ["uninstall", r, "--namespace", ns, "--no-hooks"]).catch(() => {});
      });
    }
    await env.kube.delete(CORE.namespaces, undefined, ns).catch(() => {});
  });
  /** `helm install` of the chart as release `<uniqueName>` with extra helm flags; waits until Ready. */
  const install = async (flags: string[] = []): Promise<Release> => {
    const image = await loadOperatorImage(env);
    const name = uniqueName("vso");
    releases.push(name);
    await helm(env, [
      "install",
      name,
      CHART,
      "--namespace",
      ns,
      ...imageValues(image),
      "--set",
      `controller.manager.extraArgs[0]=--watch-namespaces=${ns}`,
      ...flags,
      "--wait",
      "--timeout",
      "3m",
    ]);
    return {
      name,
      namespace: ns,
      deployment: `${name}-vault-secrets-operator-controller-manager`,
      selector: `app.kubernetes.io/name=vault-secrets-operator,app.kubernetes.io/instance=${name}`,
    };
  };
  return { ns, install };
}

export interface OperatorPod {
  metadata: { name: string; uid?: string; deletionTimestamp?: string; creationTimestamp?: string };
  spec: { containers: { args?: string[] }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

/** The release's operator Pods that are Ready and not terminating, by name. */
export async function readyOperatorPods(env: TestEnv, rel: Release): Promise<OperatorPod[]> {
  const list = await env.kube.list<OperatorPod>(CORE.pods, rel.namespace, { labelSelector: rel.selector });
  return list.items
    .filter(
      (p) =>
        !p.metadata.deletionTimestamp &&
        p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    )
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/** The holder of the operator's leader Lease in the release namespace ("" when released). */
export async function leaseHolder(env: TestEnv, ns: string): Promise<string | undefined> {
  const lease = await env.kube.getOrNull<{ metadata: object; spec?: { holderIdentity?: string } }>(
    CORE.leases,
    ns,
    LEADER_LEASE,
  );
  return lease?.spec?.holderIdentity;
}

export const LEADER_LEASE = "b0d477c0.hashicorp.com";

/** The operator's log, for a failure message. */
export async function operatorLog(env: TestEnv, rel: Release): Promise<string> {
  const res = await kubectl(env, ["logs", "-n", rel.namespace, `deployment/${rel.deployment}`, "--tail=60"]);
  return `--- operator log ---\n${res.stdout}${res.stderr}`;
}

export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  [k: string]: unknown;
}

/**
 * deploy/install.yaml moved to namespace `ns`, with the cluster-scoped RBAC objects named
 * `<name>-<suffix>` (bindings follow) and the operator limited to `ns`, so that applying and
 * deleting it cannot disturb another installation in the same cluster. The CRDs are unchanged.
 */
export function relocatedInstallManifest(text: string, ns: string, suffix: string): ManifestObject[] {
  const objects = parseAllDocuments(text)
    .map((d) => d.toJS() as ManifestObject | null)
    .filter((o): o is ManifestObject => o !== null);
  const renamed = (kind: string, name: string) =>
    kind === "ClusterRole" || kind === "ClusterRoleBinding" ? `${name}-${suffix}` : name;
  for (const o of objects) {
    if (o.kind === "Namespace") o.metadata.name = ns;
    else if (o.kind !== "CustomResourceDefinition") o.metadata.name = renamed(o.kind, o.metadata.name);
    if (o.metadata.namespace !== undefined) o.metadata.namespace = ns;
    const binding = o as { roleRef?: { kind: string; name: string }; subjects?: { namespace?: string }[] };
    if (binding.roleRef) binding.roleRef.name = renamed(binding.roleRef.kind, binding.roleRef.name);
    for (const s of binding.subjects ?? []) if (s.namespace !== undefined) s.namespace = ns;
    if (o.kind === "Deployment") {
      const spec = o.spec as { template: { spec: { containers: { name: string; args?: string[] }[] } } };
      const manager = spec.template.spec.containers.find((c) => c.name === "manager");
      if (!manager) throw new Error("install.yaml: no manager container");
      manager.args = [...(manager.args ?? []), `--watch-namespaces=${ns}`];
    }
  }
  const left = JSON.stringify(objects).match(/vault-secrets-operator-system/);
  if (left) throw new Error("install.yaml: a reference to vault-secrets-operator-system was not rewritten");
  return objects;
}

/** VaultConnection and VaultAuth `default` reaching the environment's OpenBao from a Pod, and a synced KV secret. */
export async function inClusterStaticSecret(env: TestEnv, ns: string, password: string, rel?: Release) {
  const role = await vaultRoleFor(env, ns);
  await env.kube.create(VSO.VaultConnection, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultConnection",
    metadata: { name: "default" },
    spec: { address: env.state.node?.vaultAddress },
  });
  await env.kube.create(VSO.VaultAuth, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultAuth",
    metadata: { name: "default" },
    spec: {
      vaultConnectionRef: "default",
      method: "kubernetes",
      mount: "kubernetes",
      kubernetes: { role, serviceAccount: "app" },
    },
  });
  await kvPut(env, `${ns}/db`, { password });
  await env.kube.create(VSO.VaultStaticSecret, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultStaticSecret",
    metadata: { name: "db" },
    spec: {
      vaultAuthRef: "default",
      mount: "secret",
      type: "kv-v2",
      path: `${ns}/db`,
      refreshAfter: "2s",
      destination: { name: "db", create: true },
    },
  });
  await inClusterSynced(env, ns, password, 60_000, rel);
}

/** Waits until the KV secret synced by inClusterStaticSecret holds the password; fails with the operator log. */
export async function inClusterSynced(
  env: TestEnv,
  ns: string,
  password: string,
  timeoutMs: number,
  rel?: Release,
) {
  await waitForSecret(env, ns, "db", (s) => decoded(s).password === password, timeoutMs).catch(
    async (err) => {
      throw new Error(`${err}\n${rel ? await operatorLog(env, rel) : ""}`);
    },
  );
}
