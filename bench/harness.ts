// The benchmark harness (`make bench`): vso-ts beside HashiCorp VSO and the limit program.
// Every run gets a fresh local environment (src/dev/environment.ts) and its workload, created
// before the operator starts; operators alternate (A, B, A, B) so that both see the same
// machine load. See docs/benchmarks.md. Two kinds of workload (BENCH_KIND):
//   static (default): N KV v2 secrets and N VaultStaticSecrets over 10 namespaces, then the limit program;
//   dynamic: a PostgreSQL role on database/ and N VaultDynamicSecrets, one lease each (no limit program).
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
import { ApiServerMetrics, diffRequests, type RequestCounts, total } from "./lib/apiserver-metrics.ts";
import {
  createDynamicSecrets,
  DB_POLICY,
  DB_ROLE,
  dynamicItems,
  LEASE_MAX_TTL,
  LEASE_TTL_S,
  leaseCount,
  setupDatabase,
} from "./lib/dynamic-workload.ts";
import { MemoryLimit } from "./lib/memory-limit.ts";
import {
  bundleVsoTs,
  CHART_NODE_FLAGS,
  heapUsedMiB,
  type OperatorName,
  type RunningOperator,
  startOperator,
  vsoDir,
} from "./lib/operators.ts";
import { loadAverage, type ProcSample, ProcSampler, readProc } from "./lib/proc-sampler.ts";
import {
  type DynamicRun,
  type LimitResult,
  type MemoryLimitRun,
  type OperatorRun,
  writeDynamicReport,
  writeMemoryLimitReport,
  writeReport,
} from "./lib/report.ts";
import { SecretWatch } from "./lib/secret-watch.ts";
import { diffCounts, type VaultCounts, VaultProxy } from "./lib/vault-proxy.ts";
import {
  createConnectionAndAuth,
  createStaticSecrets,
  items,
  KV_POLICY,
  putKv,
  setupAuth,
} from "./lib/workload.ts";

const KIND = process.env.BENCH_KIND ?? "static";
if (KIND !== "static" && KIND !== "dynamic")
  throw new Error(`BENCH_KIND must be static or dynamic, not ${KIND}`);
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
// With a memory limit (MiB), each operator runs in a memory cgroup of that size, as in a Pod
// with resources.limits.memory: the run records whether it synced or was OOM-killed.
const MEMORY_LIMIT_MIB = Number(process.env.BENCH_MEMORY_LIMIT_MIB ?? 0);
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
  const list = items(N);
  if (KIND === "dynamic") {
    await setupAuth(kube, vault, state.vault.token, DB_POLICY);
    say(`database role ${DB_ROLE}: lease TTL ${LEASE_TTL_S} s, max ${LEASE_MAX_TTL}`);
    await setupDatabase(vault, state.vault.token, state.postgres);
  } else {
    await setupAuth(kube, vault, state.vault.token, KV_POLICY);
    say(`loading ${N} KV secrets`);
    await putKv(vault, state.vault.token, list);
  }
  return { state, kube, vault, proxy, list };
}

type Env = Awaited<ReturnType<typeof prepare>>;

/** Counters read at both ends of the steady window. */
interface Mark {
  t: number;
  writes: number;
  vault: VaultCounts;
  api: RequestCounts;
  cpu: number;
}

async function mark(env: Env, watch: SecretWatch, api: ApiServerMetrics, pid: number): Promise<Mark> {
  return {
    t: Date.now(),
    writes: watch.writes,
    vault: env.proxy.snapshot(),
    api: await api.requestCounts(),
    cpu: readProc(pid)?.cpuS ?? 0,
  };
}

/** A run in progress: the operator started with its workload in place and the counters at its start. */
interface Running {
  name: OperatorName;
  env: Env;
  watch: SecretWatch;
  op: RunningOperator;
  sampler: ProcSampler;
  api: ApiServerMetrics;
  api0: RequestCounts;
  vault0: VaultCounts;
  start: number;
}

/**
 * The part of a run every kind shares: the operator starts with its workload in place, the
 * sync runs until every destination is as the watch expects, then the steady window passes.
 */
async function syncAndSteady(
  { name, env, watch, op, sampler, api, api0, vault0, start }: Running,
  /** Read once the sync is complete (dynamic: the live leases). */
  atSync: () => Promise<number | undefined>,
) {
  const progress = setInterval(() => {
    say(
      `  ${watch.correctCount}/${N} Secrets correct, RSS ${((sampler.last()?.rssKiB ?? 0) / 1024).toFixed(0)} MiB`,
    );
  }, 5000);
  await watch.allCorrect(Math.max(300_000, N * 300)).finally(() => clearInterval(progress));
  const syncS = (Date.now() - start) / 1000;
  const firstSecretS = (Math.min(...watch.correctAt.values()) - start) / 1000;
  say(`${name}: ${KIND === "dynamic" ? "issue" : "cold sync"} ${syncS.toFixed(1)} s`);
  const syncSample = sampler.take();
  const api1 = await api.requestCounts();
  const vault1 = env.proxy.snapshot();
  const atSyncValue = await atSync();
  const heapAfterSyncMiB = await heapUsedMiB(op.metricsUrl);
  // With --heapsnapshot-signal=SIGUSR2 in BENCH_VSOTS_NODE_FLAGS: one snapshot after the sync, one at the end.
  const snapshot = () =>
    NODE_FLAGS.some((f) => f.startsWith("--heapsnapshot-signal")) && op.proc.kill("SIGUSR2");
  snapshot();

  // Steady state: nothing changes in Vault; only refreshes (static) or renewals (dynamic) should happen.
  await sleep(5000);
  const s0 = await mark(env, watch, api, op.pid);
  say(`steady state for ${STEADY_S} s`);
  await sleep(STEADY_S * 1000);
  const s1 = await mark(env, watch, api, op.pid);
  const heapSteadyMiB = await heapUsedMiB(op.metricsUrl);
  snapshot();
  return {
    syncS,
    firstSecretS,
    atSyncValue,
    syncSample,
    heapAfterSyncMiB,
    heapSteadyMiB,
    vaultSync: diffCounts(vault1, vault0),
    apiSync: diffRequests(api1, api0),
    s0,
    s1,
    windowS: (s1.t - s0.t) / 1000,
    steadyVault: diffCounts(s1.vault, s0.vault),
  };
}

type Measured = Awaited<ReturnType<typeof syncAndSteady>>;

/** The fields of a run every kind reports, once the run's last sample is taken. */
function common(
  { name, op, sampler, start }: Running,
  round: number,
  loadStart: number[],
  m: Measured,
  end: { t: number; sample?: ProcSample },
) {
  return {
    head: {
      operator: name,
      version: op.version,
      args: op.args,
      round,
      n: N,
      loadAverage: { start: loadStart, end: loadAverage() },
    },
    resources: {
      peakRssMiB: sampler.peakRssMiB(),
      rssAfterSyncMiB: (m.syncSample?.rssKiB ?? 0) / 1024,
      steadyRssMiB: sampler.meanRssMiB(m.s0.t, m.s1.t),
      rssEndMiB: (end.sample?.rssKiB ?? 0) / 1024,
      heapAfterSyncMiB: m.heapAfterSyncMiB,
      heapSteadyMiB: m.heapSteadyMiB,
      cpuSyncS: m.syncSample?.cpuS ?? 0,
      cpuSteadyS: m.s1.cpu - m.s0.cpu,
      cpuTotalS: end.sample?.cpuS ?? 0,
      vault: { sync: m.vaultSync, steady: m.steadyVault },
    },
    api: {
      sync: m.apiSync,
      syncTotal: total(m.apiSync),
      steady: diffRequests(m.s1.api, m.s0.api),
      steadyTotal: total(diffRequests(m.s1.api, m.s0.api)),
    },
    durationS: (end.t - start) / 1000,
  };
}

/** Static kind, after the steady window: CHANGES secrets get a new value in Vault; how long until their Secrets show it. */
async function propagate(env: Env, watch: SecretWatch) {
  say(`propagation of ${CHANGES} changes`);
  const changed = env.list
    .slice(0, CHANGES)
    .map((it) => ({ ...it, data: { ...it.data, password: `${it.data.password}-v2` } }));
  const putAt = new Map<string, number>();
  for (const it of changed) watch.expect(it.namespace, it.name, it.data);
  for (const it of changed) {
    await env.vault.call("POST", `secret/data/${it.path}`, {
      token: env.state.vault.token,
      body: { data: it.data },
    });
    putAt.set(`${it.namespace}/${it.name}`, Date.now());
  }
  let complete = true;
  await watch.allCorrect((REFRESH_S + 60) * 1000).catch(() => {
    complete = false;
  });
  const lat = changed
    .map((it) => {
      const k = `${it.namespace}/${it.name}`;
      const at = watch.correctAt.get(k);
      return at ? (at - (putAt.get(k) ?? at)) / 1000 : undefined;
    })
    .filter((x): x is number => x !== undefined);
  return {
    changes: CHANGES,
    complete,
    observed: lat.length,
    p50S: percentile(lat, 50),
    p99S: percentile(lat, 99),
    maxS: Math.max(0, ...lat),
  };
}

async function runOperator(name: OperatorName, round: number): Promise<OperatorRun | DynamicRun> {
  const loadStart = loadAverage();
  const env = await prepare(name);
  const { state, kube, vault, proxy, list } = env;
  try {
    await createConnectionAndAuth(kube, proxy.address);
    const watch = new SecretWatch(kube);
    if (KIND === "dynamic") {
      say(`creating ${N} VaultDynamicSecrets`);
      const dyn = dynamicItems(N);
      await createDynamicSecrets(kube, dyn);
      for (const it of dyn) watch.expectFields(it.namespace, it.name, ["username", "password"]);
    } else {
      say(`creating ${N} VaultStaticSecrets`);
      await createStaticSecrets(kube, list, `${REFRESH_S}s`);
      for (const it of list) watch.expect(it.namespace, it.name, it.data);
    }
    await watch.start();
    const api = await ApiServerMetrics.load(state.kubeconfig);
    const api0 = await api.requestCounts();
    const vault0 = proxy.snapshot();
    const failed0 = proxy.failureSnapshot();

    say(`starting ${name} (round ${round})`);
    const logFile = join(LOG_DIR, `${name}-${KIND === "dynamic" ? "dynamic-" : ""}${N}-${round}.log`);
    const start = Date.now();
    const op = await startOperator(name, state.kubeconfig, logFile, name === "vso-ts" ? NODE_FLAGS : []);
    const sampler = new ProcSampler(op.pid);
    try {
      const running: Running = { name, env, watch, op, sampler, api, api0, vault0, start };
      const leases = () => leaseCount(vault, state.vault.token);
      const m = await syncAndSteady(running, async () => (KIND === "dynamic" ? leases() : undefined));
      if (KIND === "dynamic") {
        const afterSteady = await leases();
        const end = { t: Date.now(), sample: sampler.take() };
        await watch.stop();
        await api.close();
        sampler.stop();
        await op.stop();
        const afterStop = await leases();
        const c = common(running, round, loadStart, m, end);
        const renewals = m.steadyVault["lease-renew"] ?? 0;
        const run = diffCounts(proxy.snapshot(), vault0);
        const result: DynamicRun = {
          ...c.head,
          issueS: m.syncS,
          firstSecretS: m.firstSecretS,
          ...c.resources,
          steady: {
            windowS: m.windowS,
            secretWrites: m.s1.writes - m.s0.writes,
            issues: m.steadyVault["db-creds"] ?? 0,
            renewals,
            renewalsPerLeasePerMinute: renewals / N / (m.windowS / 60),
            revocations: m.steadyVault["lease-revoke"] ?? 0,
            logins: m.steadyVault.login ?? 0,
          },
          vaultRun: { all: run, failed: diffCounts(proxy.failureSnapshot(), failed0) },
          leases: {
            expected: N,
            afterSync: m.atSyncValue ?? 0,
            afterSteady,
            afterStop,
            abandoned: (run["db-creds"] ?? 0) - (run["lease-revoke"] ?? 0) - afterStop,
          },
          api: c.api,
          durationS: c.durationS,
        };
        say(
          `${name}: issue ${m.syncS.toFixed(1)} s, peak ${result.peakRssMiB.toFixed(0)} MiB, cpu ${result.cpuTotalS.toFixed(1)} s, ${renewals} renewals (${result.steady.renewalsPerLeasePerMinute.toFixed(2)}/lease/min), leases ${m.atSyncValue} after the sync, ${afterSteady} at the end, ${afterStop} after the stop, ${result.leases.abandoned} abandoned`,
        );
        return result;
      }
      const propagation = await propagate(env, watch);
      const end = { t: Date.now(), sample: sampler.take() };
      await watch.stop();
      await api.close();
      sampler.stop();
      const c = common(running, round, loadStart, m, end);
      const result: OperatorRun = {
        ...c.head,
        coldSyncS: m.syncS,
        firstSecretS: m.firstSecretS,
        ...c.resources,
        steady: {
          windowS: m.windowS,
          secretWrites: m.s1.writes - m.s0.writes,
          kvReadsPerSecretPerRefresh: (m.steadyVault["kv-read"] ?? 0) / N / (m.windowS / REFRESH_S),
          logins: m.steadyVault.login ?? 0,
        },
        propagation,
        api: c.api,
        durationS: c.durationS,
      };
      say(
        `${name}: sync ${m.syncS.toFixed(1)} s, peak ${result.peakRssMiB.toFixed(0)} MiB, steady ${result.steadyRssMiB.toFixed(0)} MiB, cpu ${result.cpuTotalS.toFixed(1)} s, writes ${result.steady.secretWrites}, p99 ${result.propagation.p99S.toFixed(1)} s`,
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

/**
 * The static kind under a memory limit: the operator runs in a memory cgroup of
 * MEMORY_LIMIT_MIB; the run ends when every Secret is correct and the steady
 * window has passed, or when the operator dies (an OOM kill), whichever comes first.
 */
async function runUnderMemoryLimit(name: OperatorName, round: number): Promise<MemoryLimitRun> {
  const loadStart = loadAverage();
  const env = await prepare(name);
  const { state, kube, proxy, list } = env;
  const limit = MemoryLimit.create(MEMORY_LIMIT_MIB, `vso-bench-${name}-${round}-${process.pid}`);
  try {
    await createConnectionAndAuth(kube, proxy.address);
    const watch = new SecretWatch(kube);
    say(`creating ${N} VaultStaticSecrets`);
    await createStaticSecrets(kube, list, `${REFRESH_S}s`);
    for (const it of list) watch.expect(it.namespace, it.name, it.data);
    await watch.start();
    say(`starting ${name} (round ${round}) in a memory cgroup of ${MEMORY_LIMIT_MIB} MiB`);
    const logFile = join(LOG_DIR, `${name}-${N}-mem${MEMORY_LIMIT_MIB}-${round}.log`);
    const start = Date.now();
    const op = await startOperator(
      name,
      state.kubeconfig,
      logFile,
      name === "vso-ts" ? NODE_FLAGS : [],
      limit,
    );
    const sampler = new ProcSampler(op.pid);
    let died: { code: number | null; signal: NodeJS.Signals | null; afterS: number } | undefined;
    void op.exited.then((e) => {
      died = { ...e, afterS: (Date.now() - start) / 1000 };
    });
    const progress = setInterval(() => {
      say(
        `  ${watch.correctCount}/${N} Secrets correct, RSS ${((sampler.last()?.rssKiB ?? 0) / 1024).toFixed(0)} MiB`,
      );
    }, 5000);
    let coldSyncS: number | undefined;
    try {
      const synced = await Promise.race([
        // A run that thrashes under the limit may never finish: it is given N x 30 ms (at least 5 min).
        watch.allCorrect(Math.max(300_000, N * 30)).then(
          () => true,
          () => false,
        ),
        op.exited.then(() => false),
      ]);
      if (synced) {
        coldSyncS = (Date.now() - start) / 1000;
        say(`${name}: cold sync ${coldSyncS.toFixed(1)} s; steady for ${STEADY_S} s`);
        await Promise.race([sleep(STEADY_S * 1000), op.exited]);
      }
    } finally {
      clearInterval(progress);
    }
    const result: MemoryLimitRun = {
      operator: name,
      version: op.version,
      round,
      n: N,
      limitMiB: MEMORY_LIMIT_MIB,
      loadAverage: { start: loadStart, end: loadAverage() },
      coldSyncS,
      correctAtEnd: watch.correctCount,
      survived: died === undefined,
      died,
      oomKills: limit.oomKills(),
      majorFaults: limit.majorFaults(),
      cgroupPeakMiB: limit.peakMiB(),
      peakRssMiB: sampler.peakRssMiB(),
      cpuTotalS: sampler.last()?.cpuS ?? 0,
    };
    sampler.stop();
    await op.stop();
    await watch.stop();
    say(
      `${name} under ${MEMORY_LIMIT_MIB} MiB: ${result.survived ? "survived" : `died after ${died?.afterS.toFixed(0)} s (${died?.signal ?? died?.code})`}, ${result.correctAtEnd}/${N} correct, ${result.oomKills} OOM kills, ${result.majorFaults} major faults, cgroup peak ${result.cgroupPeakMiB.toFixed(0)} MiB, RSS peak ${result.peakRssMiB.toFixed(0)} MiB`,
    );
    return result;
  } finally {
    await proxy.stop();
    await kube.close();
    await down(ENV_DIR);
    limit.remove();
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
  if (MEMORY_LIMIT_MIB > 0) {
    if (KIND !== "static") throw new Error("BENCH_MEMORY_LIMIT_MIB runs the static kind only");
    const limited: MemoryLimitRun[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const name of OPERATORS) limited.push(await runUnderMemoryLimit(name, round));
    }
    say(
      `results: ${writeMemoryLimitReport({ n: N, limitMiB: MEMORY_LIMIT_MIB, steadyS: STEADY_S, runs: limited })}`,
    );
    return;
  }
  const runs: (OperatorRun | DynamicRun)[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of OPERATORS) runs.push(await runOperator(name, round));
  }
  const machine = {
    cpus: Number(execFileSync("nproc", { encoding: "utf8" }).trim()),
    memGiB:
      Number(/MemTotal:\s+(\d+)/.exec(execFileSync("cat", ["/proc/meminfo"], { encoding: "utf8" }))?.[1]) /
      2 ** 20,
    node: process.versions.node,
  };
  if (KIND === "dynamic") {
    const file = writeDynamicReport({
      kind: "dynamic",
      n: N,
      steadyS: STEADY_S,
      leaseTtlS: LEASE_TTL_S,
      leaseMaxTtl: LEASE_MAX_TTL,
      runs: runs as DynamicRun[],
      machine,
    });
    say(`results: ${file}`);
    return;
  }
  // The limit program reads KV secrets: it is the ceiling of the static kind only.
  const limit = LIMIT_CONCURRENCY.length > 0 ? await runLimit() : [];
  const file = writeReport({
    n: N,
    steadyS: STEADY_S,
    refreshS: REFRESH_S,
    runs: runs as OperatorRun[],
    limit,
    machine,
  });
  say(`results: ${file}`);
}

await main();
