// The benchmark harness (`make bench`): vso-ts beside HashiCorp VSO and the limit program.
// Every run gets a fresh local environment (src/dev/environment.ts), N KV v2 secrets and N
// VaultStaticSecrets over 10 namespaces created before the operator starts; operators
// alternate (A, B, A, B) so that both see the same machine load. See docs/benchmarks.md.
//   BENCH_N=1000 BENCH_OPERATORS=vso-ts,vso BENCH_ROUNDS=2 BENCH_STEADY_S=120 node bench/harness.ts
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { applyCRDs } from "../src/dev/crds.ts";
import { down, up } from "../src/dev/environment.ts";
import { REPO_ROOT } from "../src/dev/paths.ts";
import { KubeClient } from "../src/kube/client.ts";
import { VaultHttp } from "../src/vault/http.ts";
import { ApiServerMetrics, diffRequests, total } from "./lib/apiserver-metrics.ts";
import {
  bundleVsoTs,
  CHART_NODE_FLAGS,
  heapUsedMiB,
  type OperatorName,
  startOperator,
  vsoDir,
} from "./lib/operators.ts";
import { loadAverage, ProcSampler, readProc } from "./lib/proc-sampler.ts";
import { type LimitResult, type OperatorRun, writeReport } from "./lib/report.ts";
import { SecretWatch } from "./lib/secret-watch.ts";
import { diffCounts, VaultProxy } from "./lib/vault-proxy.ts";
import { createConnectionAndAuth, createStaticSecrets, items, putKv, setupAuth } from "./lib/workload.ts";

const N = Number(process.env.BENCH_N ?? 1000);
const OPERATORS = (process.env.BENCH_OPERATORS ?? "vso-ts,vso")
  .split(",")
  .map((s) => s.trim()) as OperatorName[];
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const STEADY_S = Number(process.env.BENCH_STEADY_S ?? 120);
const CHANGES = Math.min(Number(process.env.BENCH_CHANGES ?? 100), N);
const REFRESH_S = 60;
const LIMIT_CONCURRENCY = (process.env.BENCH_LIMIT_CONCURRENCY ?? "8,32,128")
  .split(",")
  .map(Number)
  .filter(Boolean);
// vso-ts runs with the chart's Node flags unless BENCH_VSOTS_NODE_FLAGS replaces them.
const NODE_FLAGS = (process.env.BENCH_VSOTS_NODE_FLAGS ?? CHART_NODE_FLAGS.join(" "))
  .split(" ")
  .filter(Boolean);
const ENV_DIR = process.env.BENCH_ENV_DIR ?? "/tmp/vso-bench-env";
const LOG_DIR = join(REPO_ROOT, "bench", "results", "logs");

const t0 = Date.now();
const say = (msg: string) =>
  console.log(`[bench ${((Date.now() - t0) / 1000).toFixed(0).padStart(5)}s] ${msg}`);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** A fresh environment with the workload loaded, the Vault proxy in front of OpenBao. */
async function prepare(crdsFor: OperatorName | "limit") {
  say(`fresh environment in ${ENV_DIR}`);
  const state = await up({ dir: ENV_DIR });
  const kube = await KubeClient.load(state.kubeconfig);
  const vault = new VaultHttp({ address: state.vault.address });
  const proxy = new VaultProxy(state.vault.address);
  await proxy.start();
  if (crdsFor === "vso" || crdsFor === "vso-tuned") {
    // VSO's CRDs share our group: they replace ours (server-side apply, same field manager).
    await applyCRDs(kube, join(vsoDir(), "crds"));
  }
  await setupAuth(kube, vault, state.vault.token);
  const list = items(N);
  say(`loading ${N} KV secrets`);
  await putKv(vault, state.vault.token, list);
  return { state, kube, vault, proxy, list };
}

async function runOperator(name: OperatorName, round: number): Promise<OperatorRun> {
  const loadStart = loadAverage();
  const { state, kube, vault, proxy, list } = await prepare(name);
  try {
    await createConnectionAndAuth(kube, proxy.address);
    say(`creating ${N} VaultStaticSecrets`);
    await createStaticSecrets(kube, list, `${REFRESH_S}s`);
    const watch = new SecretWatch(kube);
    for (const it of list) watch.expect(it.namespace, it.name, it.data);
    await watch.start();
    const api = await ApiServerMetrics.load(state.kubeconfig);
    const api0 = await api.requestCounts();
    const vault0 = proxy.snapshot();

    say(`starting ${name} (round ${round})`);
    const logFile = join(LOG_DIR, `${name}-${N}-${round}.log`);
    const start = Date.now();
    const op = await startOperator(name, state.kubeconfig, logFile, name === "vso-ts" ? NODE_FLAGS : []);
    const sampler = new ProcSampler(op.pid);
    try {
      let firstAt = 0;
      const progress = setInterval(() => {
        if (!firstAt && watch.correctCount > 0) firstAt = Date.now();
        say(
          `  ${watch.correctCount}/${N} Secrets correct, RSS ${((sampler.last()?.rssKiB ?? 0) / 1024).toFixed(0)} MiB`,
        );
      }, 5000);
      await watch.allCorrect(Math.max(300_000, N * 300)).finally(() => clearInterval(progress));
      const synced = Date.now();
      const coldSyncS = (synced - start) / 1000;
      const firstSecretS = (Math.min(...watch.correctAt.values()) - start) / 1000;
      say(`${name}: cold sync ${coldSyncS.toFixed(1)} s`);
      const syncSample = sampler.take();
      const api1 = await api.requestCounts();
      const vault1 = proxy.snapshot();
      const heapAfterSyncMiB = await heapUsedMiB(op.metricsUrl);
      // With --heapsnapshot-signal=SIGUSR2 in BENCH_VSOTS_NODE_FLAGS: one snapshot after the sync, one at the end.
      const snapshot = () =>
        NODE_FLAGS.some((f) => f.startsWith("--heapsnapshot-signal")) && op.proc.kill("SIGUSR2");
      snapshot();

      // Steady state: nothing changes in Vault; only refreshes should happen.
      await sleep(5000);
      const s0 = {
        t: Date.now(),
        writes: watch.writes,
        vault: proxy.snapshot(),
        api: await api.requestCounts(),
        cpu: readProc(op.pid)?.cpuS ?? 0,
      };
      say(`steady state for ${STEADY_S} s`);
      await sleep(STEADY_S * 1000);
      const s1 = {
        t: Date.now(),
        writes: watch.writes,
        vault: proxy.snapshot(),
        api: await api.requestCounts(),
        cpu: readProc(op.pid)?.cpuS ?? 0,
      };
      const windowS = (s1.t - s0.t) / 1000;
      const steadyVault = diffCounts(s1.vault, s0.vault);
      const heapSteadyMiB = await heapUsedMiB(op.metricsUrl);
      snapshot();

      // Change propagation: CHANGES secrets get a new value in Vault.
      say(`propagation of ${CHANGES} changes`);
      const changed = list
        .slice(0, CHANGES)
        .map((it) => ({ ...it, data: { ...it.data, password: `${it.data.password}-v2` } }));
      const putAt = new Map<string, number>();
      for (const it of changed) watch.expect(it.namespace, it.name, it.data);
      for (const it of changed) {
        await vault.call("POST", `secret/data/${it.path}`, {
          token: state.vault.token,
          body: { data: it.data },
        });
        putAt.set(`${it.namespace}/${it.name}`, Date.now());
      }
      let propagationComplete = true;
      await watch.allCorrect((REFRESH_S + 60) * 1000).catch(() => {
        propagationComplete = false;
      });
      const lat = changed
        .map((it) => {
          const k = `${it.namespace}/${it.name}`;
          const at = watch.correctAt.get(k);
          return at ? (at - (putAt.get(k) ?? at)) / 1000 : undefined;
        })
        .filter((x): x is number => x !== undefined);
      const end = Date.now();
      const endSample = sampler.take();
      await watch.stop();
      await api.close();
      sampler.stop();
      const result: OperatorRun = {
        operator: name,
        version: op.version,
        args: op.args,
        round,
        n: N,
        loadAverage: { start: loadStart, end: loadAverage() },
        coldSyncS,
        firstSecretS,
        peakRssMiB: sampler.peakRssMiB(),
        rssAfterSyncMiB: (syncSample?.rssKiB ?? 0) / 1024,
        steadyRssMiB: sampler.meanRssMiB(s0.t, s1.t),
        rssEndMiB: (endSample?.rssKiB ?? 0) / 1024,
        heapAfterSyncMiB,
        heapSteadyMiB,
        cpuSyncS: syncSample?.cpuS ?? 0,
        cpuSteadyS: s1.cpu - s0.cpu,
        cpuTotalS: endSample?.cpuS ?? 0,
        vault: { sync: diffCounts(vault1, vault0), steady: steadyVault },
        steady: {
          windowS,
          secretWrites: s1.writes - s0.writes,
          kvReadsPerSecretPerRefresh: (steadyVault["kv-read"] ?? 0) / N / (windowS / REFRESH_S),
          logins: steadyVault.login ?? 0,
        },
        propagation: {
          changes: CHANGES,
          complete: propagationComplete,
          observed: lat.length,
          p50S: percentile(lat, 50),
          p99S: percentile(lat, 99),
          maxS: Math.max(0, ...lat),
        },
        api: {
          sync: diffRequests(api1, api0),
          syncTotal: total(diffRequests(api1, api0)),
          steady: diffRequests(s1.api, s0.api),
          steadyTotal: total(diffRequests(s1.api, s0.api)),
        },
        durationS: (end - start) / 1000,
      };
      say(
        `${name}: sync ${coldSyncS.toFixed(1)} s, peak ${result.peakRssMiB.toFixed(0)} MiB, steady ${result.steadyRssMiB.toFixed(0)} MiB, cpu ${result.cpuTotalS.toFixed(1)} s, writes ${result.steady.secretWrites}, p99 ${result.propagation.p99S.toFixed(1)} s`,
      );
      return result;
    } finally {
      sampler.stop();
      await op.stop();
    }
  } finally {
    await proxy.stop();
    await kube.close();
    await down(ENV_DIR);
  }
}

/** The limit program at each concurrency, on one fresh environment (each writes its own Secrets). */
async function runLimit(): Promise<LimitResult[]> {
  const loadStart = loadAverage();
  const { state, kube, proxy } = await prepare("limit");
  const out: LimitResult[] = [];
  try {
    for (const c of LIMIT_CONCURRENCY) {
      const child = spawn(
        process.execPath,
        [
          "--disable-warning=ExperimentalWarning",
          join(REPO_ROOT, "bench", "limit.ts"),
          `--kubeconfig=${state.kubeconfig}`,
          `--vault=${proxy.address}`,
          `--n=${N}`,
          `--concurrency=${c}`,
          `--prefix=lim${c}`,
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      const sampler = new ProcSampler(child.pid ?? 0, 100);
      let stdout = "";
      child.stdout.on("data", (d) => {
        stdout += d;
      });
      let last = sampler.last();
      const timer = setInterval(() => {
        last = sampler.last() ?? last;
      }, 100);
      await new Promise((resolve) => child.once("exit", resolve));
      clearInterval(timer);
      sampler.stop();
      const r = JSON.parse(stdout.trim().split("\n").at(-1) ?? "{}") as {
        loginMs: number;
        totalMs: number;
        perSecond: number;
      };
      out.push({
        concurrency: c,
        n: N,
        totalS: r.totalMs / 1000,
        perSecond: r.perSecond,
        peakRssMiB: sampler.peakRssMiB(),
        cpuS: last?.cpuS ?? 0,
        loadAverage: { start: loadStart, end: loadAverage() },
      });
      say(`limit at concurrency ${c}: ${(r.totalMs / 1000).toFixed(1)} s, ${r.perSecond.toFixed(0)}/s`);
    }
  } finally {
    await proxy.stop();
    await kube.close();
    await down(ENV_DIR);
  }
  return out;
}

async function main() {
  mkdirSync(LOG_DIR, { recursive: true });
  if (OPERATORS.some((o) => o !== "vso-ts")) vsoDir();
  if (OPERATORS.includes("vso-ts")) bundleVsoTs(LOG_DIR);
  const runs: OperatorRun[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of OPERATORS) runs.push(await runOperator(name, round));
  }
  const limit = LIMIT_CONCURRENCY.length > 0 ? await runLimit() : [];
  const machine = {
    cpus: Number(execFileSync("nproc", { encoding: "utf8" }).trim()),
    memGiB:
      Number(/MemTotal:\s+(\d+)/.exec(execFileSync("cat", ["/proc/meminfo"], { encoding: "utf8" }))?.[1]) /
      2 ** 20,
    node: process.versions.node,
  };
  const file = writeReport({ n: N, steadyS: STEADY_S, refreshS: REFRESH_S, runs, limit, machine });
  say(`results: ${file}`);
}

await main();
