// `vso run`: the operator process. Accepts VSO's manager flags (and -flag style).
import { parseOperatorConfig } from "../operator/config.ts";
import { startManager } from "../operator/manager.ts";
import { VERSION } from "../operator/metrics.ts";

export async function runCommand(argv: string[]): Promise<number> {
  const cfg = parseOperatorConfig(argv);
  if (cfg.version) {
    console.log(JSON.stringify({ name: "vso-ts", version: VERSION, node: process.versions.node }));
    return 0;
  }
  if (cfg.uninstall) {
    console.error("vso run --uninstall is not implemented yet in vso-ts");
    return 2;
  }
  const mgr = await startManager(cfg);
  if (cfg.leaderElect) {
    mgr.ctx.log.warn(
      "leader election is not implemented yet: run a single replica (or pass --leader-elect=false)",
    );
  }
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
