// `helm repo add hashicorp ...` without the network: the chart in
// deploy/chart is packaged, indexed with `helm repo index` and served on the
// node's address by chart-repo-server.ts, and the environment's own helm
// configuration (never the user's, see helmDirs) lists it as `hashicorp`. So
// `helm repo update` and `helm install vault-secrets-operator
// hashicorp/vault-secrets-operator ...` work as the walkthrough writes them.
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { DevState } from "../environment.ts";
import { NODE_IP } from "../node/netns.ts";
import { toolPaths } from "../paths.ts";
import { isAlive, startDaemon, trackedProcesses } from "../processes.ts";
import { waitHealthy } from "../wait.ts";
import { CHART_DIR } from "./names.ts";
import { runTool } from "./tools.ts";

export const CHART_REPO_NAME = "hashicorp";
/** The port `helm serve` used in Helm 2. */
export const CHART_REPO_PORT = 8879;
export const CHART_REPO_URL = `http://${NODE_IP}:${CHART_REPO_PORT}`;

export async function serveChartRepo(state: DevState, log: (l: string) => void): Promise<void> {
  const { helm } = toolPaths();
  const dir = join(state.dir, "chart-repo");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await runTool(state, helm, ["package", CHART_DIR, "--destination", dir]);
  await runTool(state, helm, ["repo", "index", dir, "--url", CHART_REPO_URL]);
  const running = trackedProcesses(state.dir).find((p) => p.name === "chart-repo" && isAlive(p));
  if (!running) {
    const proc = startDaemon(state.dir, {
      name: "chart-repo",
      command: process.execPath,
      args: [
        "--disable-warning=ExperimentalWarning",
        join(import.meta.dirname, "chart-repo-server.ts"),
        dir,
        NODE_IP,
        String(CHART_REPO_PORT),
      ],
    });
    await waitHealthy(
      "the chart repository",
      proc,
      async () => (await fetch(`${CHART_REPO_URL}/index.yaml`)).status === 200,
      15_000,
    );
  }
  await runTool(state, helm, ["repo", "add", CHART_REPO_NAME, CHART_REPO_URL, "--force-update"]);
  const charts = readdirSync(dir).filter((f) => f.endsWith(".tgz"));
  log(`Helm repository ${CHART_REPO_NAME} (${CHART_REPO_URL}) serves ${charts.join(", ")}`);
}
