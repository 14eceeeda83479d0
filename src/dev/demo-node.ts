// `vso demo` on the local node: the walkthrough for real. The playground is
// prepared as the walkthrough expects it (Vault as vault-0, PostgreSQL as the
// Service postgres, the chart in the Helm repository `hashicorp`), then the
// runner docs/walkthrough/walkthrough.sh plays its commands one after the
// other, as written apart from the blocks it lists: helm installs vso-ts, the
// manifests are applied, myapp logs in to PostgreSQL with dynamic credentials,
// a rotation replaces its Pod, the troubleshooting commands answer and the
// metrics are read with a service account's token.
import { existsSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type DevState, defaultStateDir } from "./environment.ts";
import { toolPaths } from "./paths.ts";
import { CHART_REPO_URL } from "./walkthrough/chart-repo.ts";
import { preparePlayground } from "./walkthrough/playground.ts";
import { playWalkthrough } from "./walkthrough/runner.ts";
import { runTool } from "./walkthrough/tools.ts";

export const OPERATOR_NAMESPACE = "vault-secrets-operator-system";
/** Where the walkthrough's manifests in deploy/examples take the Vault address. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a placeholder in the manifests, not a template literal
export const VAULT_ADDR_PLACEHOLDER = "${VAULT_ADDR}";

/**
 * Marks an environment prepared for the walkthrough: once its commands ran (by the runner or
 * by hand) they cannot run again, so the next `vso demo` starts afresh.
 */
function playedMark(state: DevState): string {
  return join(state.dir, "walkthrough-played");
}

export function walkthroughPlayed(state: DevState): boolean {
  return existsSync(playedMark(state));
}

export async function demoOnNode(
  state: DevState,
  log: (l: string) => void,
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<string> {
  if (!state.node) throw new Error("the environment has no node");
  writeFileSync(playedMark(state), new Date().toISOString());
  const prepared = Date.now();
  await preparePlayground(state, log);
  log(
    `playground ready (${Math.round((Date.now() - prepared) / 1000)}s); playing docs/walkthrough/walkthrough.sh, the walkthrough's commands in order`,
  );
  const t0 = Date.now();
  await playWalkthrough(state, out);
  const secs = Math.round((Date.now() - t0) / 1000);
  const pods = await runTool(state, toolPaths().kubectl, ["get", "pods", "-A", "-o", "wide"]);
  const flag = state.dir === resolve(defaultStateDir()) ? "" : ` --dir ${state.dir}`;
  return [
    `The walkthrough ran to its end in ${secs}s on a real node (kubelet, containerd), every command`,
    "as written except the blocks docs/walkthrough/walkthrough.sh lists with their reasons.",
    "",
    ...pods
      .trimEnd()
      .split("\n")
      .map((l) => `    ${l}`),
    "",
    ...tryNext(flag),
    "",
    `  Stop it and remove all state:  bin/vso dev down${flag}`,
  ].join("\n");
}

/** The closing list of `make demo`: the walkthrough's own commands to look at what it built. */
export function tryNext(flag: string): string[] {
  return [
    "  Try the walkthrough's commands yourself (docs/quickstart.md):",
    `    bin/vso dev exec${flag} -- bash        # a shell where kubectl, helm and curl reach the cluster`,
    "    kubectl get pods -n vault-secrets-operator-system",
    "    kubectl logs -n vault-secrets-operator-system deployment/vault-secrets-operator-controller-manager",
    "    kubectl logs deployment/myapp",
    "    kubectl exec -n vault vault-0 -- vault read auth/kubernetes/role/myapp-role",
    "    kubectl exec -n vault vault-0 -- vault list sys/leases/lookup/database/creds/myapp-db-role",
    "    kubectl get vaultdynamicsecret myapp-db-creds -o jsonpath='{.status.secretLease}'",
    `    helm search repo hashicorp                # the chart, served at ${CHART_REPO_URL}`,
    "  Metrics need a token (the bare `curl -k https://localhost:8443/metrics` is refused):",
    "    kubectl port-forward -n vault-secrets-operator-system svc/vault-secrets-operator-controller-manager-metrics-service 8443:8443 &",
    '    curl -sk -H "Authorization: Bearer $(kubectl create token metrics-reader -n vault-secrets-operator-system)" https://localhost:8443/metrics',
  ];
}

/** `vso demo --prepare-only`: the playground as the walkthrough expects it, its commands left to the user. */
export async function prepareOnNode(state: DevState, log: (l: string) => void): Promise<string> {
  if (!state.node) throw new Error("the environment has no node");
  writeFileSync(playedMark(state), new Date().toISOString());
  await preparePlayground(state, log);
  const flag = state.dir === resolve(defaultStateDir()) ? "" : ` --dir ${state.dir}`;
  return [
    "The playground is ready for the walkthrough: Vault runs as vault-0 in namespace vault (Service",
    "vault:8200; KV v2 with secret/myapp/*, Kubernetes auth with myapp-role, policy myapp-policy),",
    "PostgreSQL is the Service postgres:5432 (database mydb, superuser vaultadmin), and helm lists",
    `this repository's chart as hashicorp/vault-secrets-operator (${CHART_REPO_URL}).`,
    "",
    "  Type its commands (docs/quickstart.md) in a shell inside the environment, from docs/walkthrough:",
    `    bin/vso dev exec${flag} -- bash`,
    "    cd docs/walkthrough",
    "    helm repo update",
    "    helm install vault-secrets-operator hashicorp/vault-secrets-operator \\",
    "      --namespace vault-secrets-operator-system --create-namespace",
    "    ...",
    "  docs/walkthrough/walkthrough.sh has them all, in order, with the few that differ and why.",
    "",
    `  Stop it and remove all state:  bin/vso dev down${flag}`,
  ].join("\n");
}
