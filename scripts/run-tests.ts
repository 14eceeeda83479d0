// Runs the test suite with node's test runner. When end-to-end tests are
// selected it first starts one shared local environment (real kube-apiserver,
// etcd, kube-controller-manager, OpenBao, PostgreSQL, and where the machine
// allows it a real node: kubelet, containerd, scheduler, kube-proxy, DNS) and
// always tears it down afterwards, even when tests fail or the run is interrupted.
// With a node, the runner re-runs itself inside the environment's network
// namespace, where every server listens, so the tests reach them all.
//
// usage: node scripts/run-tests.ts [--unit-only|--e2e-only] [--no-node] [--keep-env] [file...]
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { down, up } from "../src/dev/environment.ts";
import {
  ensureNetns,
  insideNetns,
  netnsName,
  nodeUnsupportedReason,
  runInNetns,
} from "../src/dev/node/netns.ts";
import { cacheDir, REPO_ROOT } from "../src/dev/paths.ts";
import {
  type FileDurations,
  loadDurations,
  longestFirst,
  recordDurations,
  slowest,
} from "./test-durations.ts";

const { values, positionals } = parseArgs({
  options: {
    "unit-only": { type: "boolean", default: false },
    "e2e-only": { type: "boolean", default: false },
    "keep-env": { type: "boolean", default: false },
    "no-node": { type: "boolean", default: false },
    "env-dir": { type: "string" },
    concurrency: { type: "string", default: "3" },
  },
  allowPositionals: true,
});

function findTests(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: string[];
    try {
      entries = readdirSync(d);
    } catch {
      return;
    }
    for (const e of entries.sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (e.endsWith(".test.ts")) out.push(relative(REPO_ROOT, p));
    }
  };
  walk(dir);
  return out;
}

let files: string[];
if (positionals.length > 0) files = positionals;
else {
  files = [];
  if (!values["e2e-only"]) files.push(...findTests(join(REPO_ROOT, "test", "unit")));
  if (!values["unit-only"]) files.push(...findTests(join(REPO_ROOT, "test", "e2e")));
}
// Files run `concurrency` at a time (3: most end-to-end time is spent waiting
// on TTLs, rollouts and Pods, so three files keep 2 cores busy without starving
// the servers), the slowest first (as last measured on this machine) so that
// no long file starts last.
const durationsFile = join(cacheDir(), "test-durations.json");
const known: FileDurations = loadDurations(durationsFile);
files = longestFirst(files, known);
const needsEnv = files.some((f) => f.includes("e2e"));
const noNodeReason = values["no-node"] ? "--no-node was given" : nodeUnsupportedReason();
const withNode = needsEnv && !noNodeReason;
if (needsEnv && noNodeReason) {
  // VSO_REQUIRE_NODE=1 (.ci/run): the run must exercise the node, so stop here rather than skip those tests.
  if (process.env.VSO_REQUIRE_NODE === "1") {
    console.error(`[tests] no local node (${noNodeReason}), and VSO_REQUIRE_NODE=1 requires one`);
    process.exit(1);
  }
  console.error(`[tests] no local node (${noNodeReason}): tests that need Pods will be skipped`);
}

// With a node: create the namespace, run this same script inside it, and clean up whatever is left.
if (withNode && !(values["env-dir"] && insideNetns(netnsName(values["env-dir"])))) {
  const dir = mkdtempSync(join(cacheDir(), "test-env-"));
  ensureNetns(netnsName(dir));
  const argv = process.argv.slice(1);
  const code = await runInNetns(netnsName(dir), process.execPath, [
    ...process.execArgv,
    ...argv,
    "--env-dir",
    dir,
  ]);
  if (!values["keep-env"]) {
    const left = await down(dir);
    if (left.length > 0) console.error(`[tests] cleaned up after the inner run: ${left.join(", ")}`);
  }
  process.exit(code);
}

/** The command prefix that runs the tests in an empty network namespace (root only), or undefined. */
function offlineWrapper(): string[] | undefined {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return undefined;
  const probe = spawnSync("unshare", ["-n", "ip", "link", "set", "lo", "up"], { stdio: "ignore" });
  if (probe.status !== 0) return undefined;
  return ["unshare", "-n", "--", "sh", "-c", 'ip link set lo up && exec "$0" "$@"'];
}

let envDir: string | undefined;
let tearingDown = false;
async function teardown(): Promise<void> {
  if (!envDir || tearingDown || values["keep-env"]) return;
  tearingDown = true;
  const stopped = await down(envDir);
  console.error(`[tests] environment stopped (${stopped.length} processes) and removed`);
}
for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    void teardown().finally(() => process.exit(130));
  });
}

let exitCode = 1;
try {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (needsEnv) {
    envDir = values["env-dir"] ?? mkdtempSync(join(cacheDir(), "test-env-"));
    const t0 = Date.now();
    await up({ dir: envDir, withNode, log: (l) => console.error(`[tests] ${l}`) });
    console.error(`[tests] shared environment up in ${((Date.now() - t0) / 1000).toFixed(1)}s at ${envDir}`);
    env.VSO_TEST_ENV_DIR = envDir;
  }
  // Tests never download (issue 17): inside the node's namespace there is no
  // route out; a run without an environment gets an empty network namespace of
  // its own (loopback only). Package managers are told to stay offline too, so
  // a test that needs the network fails at once instead of on a fresh machine only.
  const isolation = needsEnv ? (withNode ? [] : undefined) : offlineWrapper();
  if (isolation) env.VSO_TEST_OFFLINE = "1";
  else console.error("[tests] the run keeps this machine's network (e2e without a node, or not root)");
  Object.assign(env, {
    GOPROXY: "off",
    GOFLAGS: "-mod=readonly",
    npm_config_offline: "true",
    PIP_NO_INDEX: "1",
  });
  const lines = join(mkdtempSync(join(tmpdir(), "vso-test-durations-")), "durations.jsonl");
  exitCode = await new Promise<number>((resolve) => {
    const [cmd, ...prefix] = [...(isolation ?? []), process.execPath];
    const child = spawn(
      cmd,
      [
        ...prefix,
        "--disable-warning=ExperimentalWarning",
        "--test",
        "--test-reporter=spec",
        "--test-reporter-destination=stdout",
        `--test-reporter=${join(REPO_ROOT, "scripts", "test-durations-reporter.ts")}`,
        `--test-reporter-destination=${lines}`,
        `--test-concurrency=${values.concurrency}`,
        ...files,
      ],
      { cwd: REPO_ROOT, env, stdio: "inherit" },
    );
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
  const measured = recordDurations(durationsFile, lines, REPO_ROOT);
  console.error(`[tests] slowest files (s): ${slowest(measured, 8)}`);
} catch (err) {
  console.error(`[tests] ${err instanceof Error ? err.message : String(err)}`);
  exitCode = 1;
} finally {
  await teardown();
}
process.exit(exitCode);
