// Starts the operators under test as plain processes against the environment's kubeconfig:
// vso-ts from this checkout, HashiCorp VSO from the binary scripts/build-vso.sh built.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { dirname, join } from "node:path";
import { request } from "undici";
import { REPO_ROOT } from "../../src/dev/paths.ts";
import { freePort } from "../../src/util/net.ts";
import type { MemoryLimit } from "./memory-limit.ts";
import { CHART_NODE_FLAGS } from "./node-flags.ts";
import { OPERATOR_NS } from "./workload.ts";

export { CHART_NODE_FLAGS };

/** The vso-ts checkout to run (BENCH_VSOTS_ROOT: e.g. an older commit, for before/after). */
const VSO_TS_ROOT = process.env.BENCH_VSOTS_ROOT ?? REPO_ROOT;

export type OperatorName = "vso-ts" | "vso" | "vso-tuned";

export interface RunningOperator {
  name: OperatorName;
  proc: ChildProcess;
  pid: number;
  metricsUrl: string;
  version: string;
  args: string[];
  /** Settles when the process has exited, with its exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop(): Promise<void>;
}

/**
 * vso-ts as its image ships it: the one-file esbuild bundle the Dockerfile builds (running the
 * TypeScript sources directly would add Node's type stripper and ~100 module records).
 */
let bundled: string | undefined;
export function bundleVsoTs(dir: string): string {
  if (bundled) return bundled;
  const out = join(dir, "vso-ts.mjs");
  execFileSync(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      "-e",
      `import(${JSON.stringify(join(VSO_TS_ROOT, "src", "dev", "operator-image.ts"))}).then(async (m) => require("node:fs").writeFileSync(${JSON.stringify(out)}, await m.bundleOperator()))`,
    ],
    { stdio: "inherit" },
  );
  bundled = out;
  return out;
}

export function vsoDir(): string {
  const out = execFileSync(join(REPO_ROOT, "scripts", "build-vso.sh"), {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return out.trim().split("\n").at(-1) ?? "";
}

/** VSO's documented tuning: a higher Kubernetes client rate (--max-concurrent-reconciles already defaults to 100). */
export const VSO_TUNING = [
  "--max-concurrent-reconciles=100",
  "--kube-client-qps=200",
  "--kube-client-burst=400",
];

export async function startOperator(
  name: OperatorName,
  kubeconfig: string,
  logFile: string,
  nodeFlags: string[] = [],
  memoryLimit?: MemoryLimit,
): Promise<RunningOperator> {
  const port = await freePort();
  const metricsUrl = `http://127.0.0.1:${port}/metrics`;
  let cmd: string;
  let args: string[];
  let version: string;
  const env: NodeJS.ProcessEnv = { ...process.env, KUBECONFIG: kubeconfig, OPERATOR_NAMESPACE: OPERATOR_NS };
  for (const k of Object.keys(env)) if (k.startsWith("VAULT_") || k.startsWith("BAO_")) delete env[k];
  if (name === "vso-ts") {
    cmd = process.execPath;
    args = [...nodeFlags, "--disable-warning=ExperimentalWarning", bundleVsoTs(dirname(logFile))];
    args.push(
      "run",
      `--kubeconfig=${kubeconfig}`,
      `--operator-namespace=${OPERATOR_NS}`,
      "--leader-elect=false",
      `--metrics-bind-address=127.0.0.1:${port}`,
      "--health-probe-bind-address=0",
    );
    version = `vso-ts ${process.env.BENCH_VSOTS_LABEL ?? execFileSync("git", ["-C", REPO_ROOT, "rev-parse", "--short", "HEAD"], { encoding: "utf8" }).trim()} (node ${process.versions.node})`;
  } else {
    const dir = vsoDir();
    cmd = join(dir, "bin", "manager");
    args = [
      "--leader-elect=false",
      `--metrics-bind-address=127.0.0.1:${port}`,
      `--health-probe-bind-address=127.0.0.1:${await freePort()}`,
      ...(name === "vso-tuned" ? VSO_TUNING : []),
    ];
    version = `HashiCorp VSO ${dir.split("vso-").at(-1)}`;
  }
  const log = createWriteStream(logFile);
  // Heap snapshots and CPU profiles (BENCH_VSOTS_NODE_FLAGS) land beside the log.
  const launch = memoryLimit ? memoryLimit.wrap(cmd, args) : { cmd, args };
  const proc = spawn(launch.cmd, launch.args, {
    env,
    cwd: dirname(logFile),
    stdio: ["ignore", "pipe", "pipe"],
  });
  proc.stdout?.pipe(log);
  proc.stderr?.pipe(log);
  if (!proc.pid) throw new Error(`could not start ${name}`);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    name,
    proc,
    pid: proc.pid,
    metricsUrl,
    version,
    args,
    exited,
    async stop() {
      if (proc.exitCode === null) proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Heap in use as the operator itself reports it (Node's V8 heap, or Go's heap alloc). */
export async function heapUsedMiB(metricsUrl: string): Promise<number | undefined> {
  try {
    const res = await request(metricsUrl, { headersTimeout: 5000, bodyTimeout: 5000 });
    const text = await res.body.text();
    for (const name of ["nodejs_heap_size_used_bytes", "go_memstats_heap_alloc_bytes"]) {
      const m = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+]+)`, "m").exec(text);
      if (m) return Number(m[1]) / 2 ** 20;
    }
  } catch {
    /* not answering yet */
  }
  return undefined;
}
