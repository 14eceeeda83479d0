// `vso run`: the operator process. Accepts VSO's manager flags (and -flag style).
import { KubeClient } from "../kube/client.ts";
import { type OperatorConfig, parseOperatorConfig } from "../operator/config.ts";
import { createLogger } from "../operator/logging.ts";
import { SHUTDOWN_DRAIN_MS, SHUTDOWN_RELEASE_MS, startManager } from "../operator/manager.ts";
import { VERSION } from "../operator/metrics.ts";
import { uninstall } from "../operator/uninstall.ts";

export async function runCommand(argv: string[]): Promise<number> {
  const cfg = parseOperatorConfig(argv);
  if (cfg.version) {
    const info = { name: "vso-ts", version: VERSION, node: process.versions.node };
    console.log(
      cfg.output === "yaml"
        ? Object.entries(info)
            .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
            .join("\n")
        : JSON.stringify(info, null, cfg.output === "json" ? 2 : undefined),
    );
    return 0;
  }
  if (cfg.uninstall) return await runUninstall(cfg);
  const log = createLogger(cfg.logging);
  // Signals are handled from the start: a standby replica waiting for leadership runs as PID 1 in
  // its container, where an unhandled SIGTERM is ignored and the Pod would wait out its grace period.
  const signalled = new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  const started = startManager(cfg, {
    log,
    // controller-runtime's manager exits when leadership is lost: the Pod restarts clean and
    // waits as a standby, instead of going on with state from its time as the leader.
    onLeadershipLost: () => exitNow(1, "leader election lost: exiting so that the Pod restarts as a standby"),
  }).then(
    (mgr) => ({ mgr }),
    (err: unknown) => ({ err }),
  );
  const first = await Promise.race([started, signalled.then((signal) => ({ signal }))]);
  if ("signal" in first) {
    // Not started yet: no controller runs and nothing is held but a pending Lease request.
    log.info({ signal: first.signal }, "shutting down before the start finished");
    process.exit(0);
  }
  if ("err" in first) {
    // One line that says what to fix; the process must not linger without serving.
    exitNow(1, `cannot start: ${first.err instanceof Error ? first.err.message : String(first.err)}`);
  }
  const { mgr } = first;
  const signal = await signalled;
  log.info({ signal }, "shutting down");
  // However stop() goes (a server that never answers the Lease release, a socket that never
  // closes), the process ends within the drain cap plus the release's own bound.
  setTimeout(
    () => exitNow(1, `shutdown did not finish within ${SHUTDOWN_LIMIT_MS / 1000} s: exiting without it`),
    SHUTDOWN_LIMIT_MS,
  ).unref();
  await mgr.stop();
  // Exit now rather than when the event loop drains: a reconcile abandoned by stop() after its
  // deadline, or an idle keep-alive socket, must not hold the Pod until SIGKILL.
  process.exit(0);
}

/** The longest a shutdown may take: the drain cap, the Lease release, and a second for the rest. */
const SHUTDOWN_LIMIT_MS = SHUTDOWN_DRAIN_MS + SHUTDOWN_RELEASE_MS + 1_000;

/** Ends the process at once with `code`, saying why in one line on standard error. */
function exitNow(code: number, why: string): never {
  process.stderr.write(`vso run: ${why}\n`);
  process.exit(code);
}

/**
 * The pre-delete hook: stop the operator Deployment named by OPERATOR_DEPLOYMENT_NAME (the chart
 * sets it), then clear the operator's finalizers everywhere. Exits non-zero if that cannot be done
 * before the deadline, so that `helm uninstall` stops rather than leave finalizers behind.
 */
async function runUninstall(cfg: OperatorConfig): Promise<number> {
  const log = createLogger(cfg.logging);
  const deadline = Date.now() + cfg.preDeleteHookTimeoutSeconds * 1000;
  const kube = await KubeClient.load(cfg.kubeconfig, { qps: cfg.kubeClientQps, burst: cfg.kubeClientBurst });
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
