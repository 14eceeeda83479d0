// `vso dev ...` and `vso demo`.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { demo } from "../dev/demo.ts";
import { defaultStateDir, down, envExports, envVars, readState, summary, up } from "../dev/environment.ts";
import {
  deleteNetns,
  ensureNetns,
  insideNetns,
  netnsName,
  netnsPath,
  nodeUnsupportedReason,
  runInNetns,
} from "../dev/node/netns.ts";

const USAGE =
  "usage: vso dev up [--with-node] | env | exec -- CMD [ARGS...] | down | demo [--no-node] [--prepare-only]   [--dir DIR]";

/**
 * `up --with-node` and `demo` create the environment's network namespace and
 * run the rest of the command inside it (every daemon started inherits it).
 */
async function inNetns(dir: string, argv: string[], log: (l: string) => void): Promise<number> {
  const ns = netnsName(dir);
  const fresh = !existsSync(netnsPath(ns));
  ensureNetns(ns);
  if (fresh) log(`network namespace ${ns}: loopback and its own bridges only, no route out`);
  const code = await runInNetns(ns, process.execPath, [
    "--disable-warning=ExperimentalWarning",
    resolve(import.meta.dirname, "main.ts"),
    "dev",
    ...argv,
  ]);
  if (code !== 0 && fresh && !existsSync(join(dir, "state.json"))) deleteNetns(ns);
  return code;
}

async function upWithNode(dir: string, argv: string[], log: (l: string) => void): Promise<number> {
  const why = nodeUnsupportedReason();
  if (why) {
    console.error(`vso: --with-node: ${why}; without --with-node the control-plane-only environment works`);
    return 1;
  }
  return await inNetns(dir, ["up", ...argv], log);
}

/** Runs a command with the environment's variables, inside its network namespace when it has a node. */
async function execIn(dir: string, argv: string[]): Promise<number> {
  if (argv.length === 0) {
    console.error("usage: vso dev exec [--dir DIR] -- CMD [ARGS...]");
    return 2;
  }
  const state = readState(dir);
  const env = { ...process.env, ...envVars(state) };
  const [cmd, ...args] = argv;
  if (state.node && !insideNetns(state.node.netns)) return await runInNetns(state.node.netns, cmd, args, env);
  const child = spawn(cmd, args, { stdio: "inherit", env });
  return await new Promise((res) => child.on("exit", (code, sig) => res(code ?? (sig ? 128 : 1))));
}

export async function devCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const dashdash = rest.indexOf("--");
  const own = dashdash >= 0 ? rest.slice(0, dashdash) : rest;
  const { values } = parseArgs({
    args: own,
    options: {
      dir: { type: "string" },
      "db-default-ttl": { type: "string" },
      "db-max-ttl": { type: "string" },
      "with-node": { type: "boolean", default: false },
      "no-node": { type: "boolean", default: false },
      "prepare-only": { type: "boolean", default: false },
    },
    allowPositionals: false,
  });
  const dir = resolve(values.dir ?? defaultStateDir());
  const log = (line: string) => console.error(`[vso dev] ${line}`);
  switch (sub) {
    case "demo": {
      // The playground is the walkthrough on a real node where the machine allows it.
      const why = values["no-node"] ? undefined : nodeUnsupportedReason();
      const withNode = !values["no-node"] && !why;
      if (why) log(`no local node (${why}): the playground runs the operator as a process instead`);
      const prepareOnly = values["prepare-only"];
      if (withNode && !insideNetns(netnsName(dir))) {
        return await inNetns(dir, ["demo", "--dir", dir, ...(prepareOnly ? ["--prepare-only"] : [])], log);
      }
      console.log(await demo(dir, log, { withNode, prepareOnly }));
      return 0;
    }
    case "up": {
      if (values["with-node"] && !insideNetns(netnsName(dir))) {
        const args = ["--with-node", "--dir", dir];
        if (values["db-default-ttl"]) args.push("--db-default-ttl", values["db-default-ttl"]);
        if (values["db-max-ttl"]) args.push("--db-max-ttl", values["db-max-ttl"]);
        return await upWithNode(dir, args, log);
      }
      const state = await up({
        dir,
        log,
        withNode: values["with-node"],
        dbDefaultTtl: values["db-default-ttl"],
        dbMaxTtl: values["db-max-ttl"],
      });
      console.log(summary(state));
      return 0;
    }
    case "env":
      console.log(envExports(readState(dir)));
      return 0;
    case "exec":
      return await execIn(dir, dashdash >= 0 ? rest.slice(dashdash + 1) : []);
    case "down": {
      const stopped = await down(dir);
      log(
        stopped.length > 0
          ? `stopped ${stopped.join(", ")}; removed ${dir}`
          : `nothing running; removed ${dir}`,
      );
      return 0;
    }
    default:
      console.error(USAGE);
      return 2;
  }
}
