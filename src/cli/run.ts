// `vso run`: the operator process. Accepts VSO's manager flags (and -flag style).
import { parseArgs } from "node:util";
import { pino } from "pino";
import { KubeClient } from "../kube/client.ts";
import { type OperatorConfig, parseOperatorConfig } from "../operator/config.ts";
import { startManager } from "../operator/manager.ts";
import { VERSION } from "../operator/metrics.ts";
import { uninstall } from "../operator/uninstall.ts";

export async function runCommand(argv: string[]): Promise<number> {
  const cfg = parseOperatorConfig(argv);
  if (cfg.version) {
    console.log(JSON.stringify({ name: "vso-ts", version: VERSION, node: process.versions.node }));
    return 0;
  }
  if (cfg.uninstall) return await runUninstall(cfg, argv);
  const mgr = await startManager(cfg);
  await new Promise<void>((resolve) => {
    const onSignal = (sig: string) => {
      mgr.ctx.log.info({ signal: sig }, "shutting down");
      resolve();
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
  });
  await mgr.stop();
  return 0;
}

/** --pre-delete-hook-timeout-seconds (VSO's default: 60); config.ts validates the flag set but does not keep it. */
function hookTimeoutSeconds(argv: string[]): number {
  const flag = "pre-delete-hook-timeout-seconds";
  const { values } = parseArgs({
    args: argv.map((a) => (/^-[a-z]/.test(a) ? `-${a}` : a)),
    options: { [flag]: { type: "string" } },
    strict: false,
  });
  const v = values[flag];
  if (v === undefined || v === true) return 60;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0)
    throw new Error(`invalid value "${v}" for --${flag}: want whole seconds`);
  return n;
}

/**
 * The pre-delete hook: stop the operator Deployment named by OPERATOR_DEPLOYMENT_NAME (the chart
 * sets it), then clear the operator's finalizers everywhere. Exits non-zero if that cannot be done
 * before the deadline, so that `helm uninstall` stops rather than leave finalizers behind.
 */
async function runUninstall(cfg: OperatorConfig, argv: string[]): Promise<number> {
  const log = pino({ level: cfg.logLevel === "debug" ? "debug" : "info" });
  const deadline = Date.now() + hookTimeoutSeconds(argv) * 1000;
  const kube = await KubeClient.load(cfg.kubeconfig);
  try {
    await uninstall(kube, {
      operatorNamespace: cfg.operatorNamespace,
      deployment: process.env.OPERATOR_DEPLOYMENT_NAME || undefined,
      namespaces:
        cfg.watchNamespaces.length > 0 ? [...new Set([...cfg.watchNamespaces, cfg.operatorNamespace])] : [],
      leaderLease: cfg.leaderElection.id,
      deadline,
      log,
    });
    return 0;
  } catch (err) {
    log.error({ err: err instanceof Error ? err.message : String(err) }, "uninstall cleanup failed");
    return 1;
  } finally {
    await kube.close();
  }
}
