// `vso demo`: the one-command playground. Brings the local environment up (or
// reuses it), runs the operator in the background, applies the walkthrough's
// manifests (only the Vault address filled in), waits until the Secrets are
// synced, and prints what happened and what to try next.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { CORE, KubeClient } from "../kube/client.ts";
import { freePort } from "../util/net.ts";
import { demoOnNode, prepareOnNode, VAULT_ADDR_PLACEHOLDER, walkthroughPlayed } from "./demo-node.ts";
import { type DevState, defaultStateDir, readState, stateFile, summary, up } from "./environment.ts";
import { REPO_ROOT, toolPaths } from "./paths.ts";
import { isAlive, startDaemon, trackedProcesses } from "./processes.ts";

const execFileP = promisify(execFile);
export const WALKTHROUGH_DIR = join(REPO_ROOT, "deploy", "examples", "walkthrough");
const MANIFESTS = [
  "vault-connection.yaml",
  "vault-auth.yaml",
  "static-secret-example.yaml",
  "static-secret-fields.yaml",
  "myapp-deployment.yaml",
  "dynamic-secret-example.yaml",
];

async function ensureOperator(state: DevState, log: (l: string) => void): Promise<string> {
  const running = trackedProcesses(state.dir).find((p) => p.name === "operator" && isAlive(p));
  const metricsFile = join(state.dir, "operator-metrics-port");
  if (running && existsSync(metricsFile)) return readFileSync(metricsFile, "utf8").trim();
  const metricsPort = await freePort();
  const healthPort = await freePort();
  const { writeFileSync } = await import("node:fs");
  writeFileSync(metricsFile, String(metricsPort));
  startDaemon(state.dir, {
    name: "operator",
    command: process.execPath,
    args: [
      "--disable-warning=ExperimentalWarning",
      join(REPO_ROOT, "src", "cli", "main.ts"),
      "run",
      `--kubeconfig=${state.kubeconfig}`,
      "--operator-namespace=vault-secrets-operator-system",
      "--leader-elect=false",
      `--metrics-bind-address=127.0.0.1:${metricsPort}`,
      `--health-probe-bind-address=127.0.0.1:${healthPort}`,
    ],
  });
  log(`operator started (log: ${join(state.dir, "logs", "operator.log")})`);
  return String(metricsPort);
}

async function applyWalkthrough(state: DevState): Promise<void> {
  for (const f of MANIFESTS) {
    const text = readFileSync(join(WALKTHROUGH_DIR, f), "utf8").replaceAll(
      VAULT_ADDR_PLACEHOLDER,
      state.vault.address,
    );
    await new Promise<void>((resolve, reject) => {
      const child = execFile(
        toolPaths().kubectl,
        ["apply", "-f", "-"],
        { env: { ...process.env, KUBECONFIG: state.kubeconfig } },
        (err, _out, stderr) => (err ? reject(new Error(`kubectl apply ${f}: ${stderr}`)) : resolve()),
      );
      child.stdin?.end(text);
    });
  }
}

export async function demo(
  dir = defaultStateDir(),
  log: (l: string) => void = () => {},
  opts: { withNode?: boolean; prepareOnly?: boolean } = {},
): Promise<string> {
  const existing = existsSync(stateFile(dir)) ? readState(dir) : undefined;
  if (opts.withNode) {
    // A running environment without a node cannot grow one, and the walkthrough plays once
    // (its `helm install` and `vault secrets enable` would find their work done): start afresh.
    const reuse = existing?.node && !walkthroughPlayed(existing);
    const state = reuse ? existing : await up({ dir, log, withNode: true });
    return opts.prepareOnly ? await prepareOnNode(state, log) : await demoOnNode(state, log);
  }
  const state = existing ?? (await up({ dir, log }));
  const metricsPort = await ensureOperator(state, log);
  log("applying the walkthrough's manifests");
  await applyWalkthrough(state);
  const kube = await KubeClient.load(state.kubeconfig);
  const lines: string[] = [];
  try {
    for (const name of ["myapp-database", "api-keys", "myapp-db-dynamic"]) {
      const deadline = Date.now() + 60_000;
      let s = await kube.getOrNull<{ metadata: { name?: string }; data?: Record<string, string> }>(
        CORE.secrets,
        "default",
        name,
      );
      while (!s && Date.now() < deadline) {
        await sleep(250);
        s = await kube.getOrNull(CORE.secrets, "default", name);
      }
      if (!s)
        throw new Error(
          `Secret default/${name} was not synced within 60s; see ${join(state.dir, "logs", "operator.log")}`,
        );
      lines.push(
        `    ${name.padEnd(18)} keys: ${Object.keys(s.data ?? {})
          .sort()
          .join(", ")}`,
      );
    }
  } finally {
    await kube.close();
  }
  const { stdout } = await execFileP(
    toolPaths().kubectl,
    ["get", "vaultconnections,vaultauths,vaultstaticsecrets,vaultdynamicsecrets", "-n", "default"],
    { env: { ...process.env, KUBECONFIG: state.kubeconfig } },
  );
  const flag = dir === defaultStateDir() ? "" : ` --dir ${dir}`;
  return [
    summary(state),
    "",
    "The operator runs in the background and has synced the walkthrough's resources:",
    "",
    ...stdout
      .trimEnd()
      .split("\n")
      .map((l) => `    ${l}`),
    "",
    "  Secrets in namespace default:",
    ...lines,
    "",
    "  Try:",
    `    eval "$(bin/vso dev env${flag})"`,
    "    kubectl get secret myapp-db-dynamic -o jsonpath='{.data.username}' | base64 -d; echo",
    "    kubectl get vaultdynamicsecret myapp-db-creds -o jsonpath='{.status.secretLease}'; echo",
    "    bao kv put secret/myapp/database username=myapp password=changed   # reaches myapp-database within 30s",
    "    kubectl describe vaultstaticsecret myapp-database-secret",
    `    curl -s http://127.0.0.1:${metricsPort}/metrics | grep vso_`,
  ].join("\n");
}
