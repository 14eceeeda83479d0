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
  // Signals are handled from the start: a standby replica waiting for leadership runs as PID 1 in
  // its container, where an unhandled SIGTERM is ignored and the Pod would wait out its grace period.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  const first = await Promise.race([
    startManager(cfg).then((mgr) => ({ mgr })),
    signalled.then((signal) => ({ signal })),
  ]);
  if ("signal" in first) {
    // Not leading yet: no controller runs and nothing is held but a pending Lease request.
    console.error(
      JSON.stringify({ level: "info", msg: "shutting down before leadership", signal: first.signal }),
    );
    process.exit(0);
  }
  const { mgr } = first;
  const signal = await signalled;
  mgr.ctx.log.info({ signal }, "shutting down");
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
