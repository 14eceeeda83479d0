// `vso demo` on the local node: the walkthrough for real. The operator image
// is loaded into the node, the chart is installed with `helm install
// vault-secrets-operator ... --namespace vault-secrets-operator-system
// --create-namespace` as the walkthrough does, the playground's OpenBao is the
// Service `vault` in namespace `vault` and its PostgreSQL the Service
// `postgres`, the walkthrough's manifests are applied as written, its `myapp`
// Deployment logs in to PostgreSQL with the dynamic credentials, and a
// rotation replaces its Pod.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { CORE, KubeClient, type KubeObject } from "../kube/client.ts";
import { exposeInCluster } from "./cluster-services.ts";
import type { DevState } from "./environment.ts";
import { importImage } from "./node/images.ts";
import { NODE_IP } from "./node/netns.ts";
import { cachedOperatorImage } from "./operator-image.ts";
import { REPO_ROOT, toolPaths } from "./paths.ts";

export const CHART_DIR = join(REPO_ROOT, "deploy", "chart", "vault-secrets-operator");
export const OPERATOR_NAMESPACE = "vault-secrets-operator-system";
/** The address the walkthrough's VaultConnection uses, as written. */
export const IN_CLUSTER_VAULT = "http://vault.vault.svc.cluster.local:8200";
/** Where the walkthrough's manifests in deploy/examples take the Vault address. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder in the manifests, not a template literal
export const VAULT_ADDR_PLACEHOLDER = "${VAULT_ADDR}";
const WALKTHROUGH_DIR = join(REPO_ROOT, "deploy", "examples", "walkthrough");
const MANIFESTS = [
  "vault-connection.yaml",
  "vault-auth.yaml",
  "static-secret-example.yaml",
  "static-secret-fields.yaml",
  "dynamic-secret-example.yaml",
  "myapp-deployment.yaml",
];

interface PodLike extends KubeObject {
  status?: { phase?: string; containerStatuses?: { ready?: boolean }[] };
}

async function tool(state: DevState, bin: string, args: string[], stdin?: string): Promise<string> {
  const env = { ...process.env, KUBECONFIG: state.kubeconfig };
  return await new Promise((resolve, reject) => {
    const child = execFile(
      bin,
      args,
      { env, maxBuffer: 16 << 20, timeout: 300_000 },
      (err, stdout, stderr) =>
        err
          ? reject(new Error(`${bin.split("/").pop()} ${args.join(" ")}: ${stderr || err.message}`))
          : resolve(stdout),
    );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(500);
  }
}

async function runningPod(
  kube: KubeClient,
  ns: string,
  app: string,
  not?: string,
): Promise<string | undefined> {
  const list = await kube.list<PodLike>(CORE.pods, ns, { labelSelector: `app=${app}` });
  const live = list.items.filter((p) => !p.metadata.deletionTimestamp);
  const ready = live.filter(
    (p) => p.status?.phase === "Running" && p.status.containerStatuses?.every((c) => c.ready),
  );
  if (live.length !== 1 || ready.length !== 1) return undefined;
  const name = ready[0].metadata.name;
  return name !== not ? name : undefined;
}

export async function demoOnNode(state: DevState, log: (l: string) => void): Promise<string> {
  const node = state.node;
  if (!node) throw new Error("the environment has no node");
  const { kubectl, helm, ctr } = toolPaths();
  const kube = await KubeClient.load(state.kubeconfig);
  try {
    const img = await cachedOperatorImage();
    importImage(ctr, node.containerdSocket, img.file);
    log(`operator image ${img.name} loaded into the node`);

    await exposeInCluster(kube, {
      namespace: "vault",
      name: "vault",
      port: 8200,
      targetIp: NODE_IP,
      targetPort: Number(new URL(state.vault.address).port),
    });
    await exposeInCluster(kube, {
      namespace: "default",
      name: "postgres",
      port: 5432,
      targetIp: NODE_IP,
      targetPort: state.postgres.port,
    });
    log("OpenBao is the Service vault.vault (8200), PostgreSQL the Service postgres (5432)");

    const installed = await tool(state, helm, ["list", "-n", OPERATOR_NAMESPACE, "-q"]);
    if (!installed.split("\n").includes("vault-secrets-operator")) {
      log("helm install vault-secrets-operator --namespace vault-secrets-operator-system --create-namespace");
      await tool(state, helm, [
        "install",
        "vault-secrets-operator",
        CHART_DIR,
        "--namespace",
        OPERATOR_NAMESPACE,
        "--create-namespace",
        "--wait",
        "--timeout",
        "3m",
      ]);
    }

    for (const f of MANIFESTS) {
      const text = readFileSync(join(WALKTHROUGH_DIR, f), "utf8").replaceAll(
        VAULT_ADDR_PLACEHOLDER,
        IN_CLUSTER_VAULT,
      );
      await tool(state, kubectl, ["apply", "-f", "-"], text);
    }
    log("applied the walkthrough's manifests; waiting for the Secrets and the app");
    for (const name of ["myapp-database", "api-keys", "myapp-db-dynamic"]) {
      await until(
        `Secret default/${name}`,
        async () => (await kube.getOrNull(CORE.secrets, "default", name)) ?? undefined,
        120_000,
      );
    }
    const first = await until("a running myapp Pod", () => runningPod(kube, "default", "myapp"), 120_000);
    const logs = await until(
      "myapp's SELECT version() output",
      async () => {
        const out = await tool(state, kubectl, ["logs", "-n", "default", `pod/${first}`]);
        return /PostgreSQL 15/.test(out) ? out : undefined;
      },
      60_000,
    );
    const version =
      logs
        .split("\n")
        .find((l) => /PostgreSQL 15/.test(l))
        ?.trim() ?? "";
    const user = async () => {
      const s = await kube.get<KubeObject & { data?: Record<string, string> }>(
        CORE.secrets,
        "default",
        "myapp-db-dynamic",
      );
      return Buffer.from(s.data?.username ?? "", "base64").toString();
    };
    const user1 = await user();

    // Rotate now rather than at the lease's max TTL: a spec change makes the operator fetch new
    // credentials, revoke the old lease and restart myapp, as the renewal cycle would.
    log("rotating the dynamic credentials (spec change) and waiting for myapp's new Pod");
    await tool(state, kubectl, [
      "patch",
      "vaultdynamicsecret",
      "myapp-db-creds",
      "--type=merge",
      "-p",
      '{"spec":{"renewalPercent":66}}',
    ]);
    const second = await until(
      "myapp's replacement Pod",
      () => runningPod(kube, "default", "myapp", first),
      180_000,
    );
    const user2 = await user();
    return [
      "The walkthrough runs on a real node (kubelet, containerd) with vso-ts installed by Helm:",
      "",
      ...(await tool(state, kubectl, ["get", "pods", "-n", OPERATOR_NAMESPACE]))
        .trimEnd()
        .split("\n")
        .map((l) => `    ${l}`),
      "",
      `  myapp (${first}) logged in to PostgreSQL as ${user1}:`,
      `    ${version}`,
      `  rotated: new user ${user2}, myapp replaced by ${second}`,
      "",
      '  Next, from this shell (or eval "$(bin/vso dev env)" first):',
      "    bin/vso dev exec -- kubectl get pods -n vault-secrets-operator-system",
      "    bin/vso dev exec -- kubectl logs -n vault-secrets-operator-system deployment/vault-secrets-operator-controller-manager",
      "    bin/vso dev exec -- kubectl logs deployment/myapp",
      "    bin/vso dev exec -- kubectl describe vaultstaticsecret myapp-database-secret",
      "    bin/vso dev exec -- kubectl get vaultdynamicsecret myapp-db-creds -o jsonpath='{.status.secretLease}'",
      "    bin/vso dev exec -- kubectl get secret myapp-db-dynamic -o jsonpath='{.data.username}' | base64 -d",
    ].join("\n");
  } finally {
    await kube.close();
  }
}
