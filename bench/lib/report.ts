// Writes a benchmark's results: bench/results/<date>-<N>.json with every figure, and the
// table and SVG chart of docs/benchmarks.md (between its per-N markers; the prose around
// them is written by hand). The dynamic kind writes <date>-dynamic-<N>.json and a table
// between its own markers (bench:dynamic-<N>), without a chart.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/dev/paths.ts";

/** What every run measures, whatever the workload. */
export interface RunBase {
  operator: string;
  version: string;
  args: string[];
  round: number;
  n: number;
  loadAverage: { start: number[]; end: number[] };
  firstSecretS: number;
  peakRssMiB: number;
  rssAfterSyncMiB: number;
  steadyRssMiB: number;
  rssEndMiB: number;
  heapAfterSyncMiB?: number;
  heapSteadyMiB?: number;
  cpuSyncS: number;
  cpuSteadyS: number;
  cpuTotalS: number;
  /** Vault requests by class (vault-proxy.ts), over the sync and over the steady window. */
  vault: { sync: Record<string, number>; steady: Record<string, number> };
  api: {
    sync: Record<string, number>;
    syncTotal: number;
    steady: Record<string, number>;
    steadyTotal: number;
  };
  durationS: number;
}

/** A run of the static kind (N VaultStaticSecrets). */
export interface OperatorRun extends RunBase {
  coldSyncS: number;
  steady: { windowS: number; secretWrites: number; kvReadsPerSecretPerRefresh: number; logins: number };
  propagation: {
    changes: number;
    complete: boolean;
    observed: number;
    p50S: number;
    p99S: number;
    maxS: number;
  };
}

/** A run of the dynamic kind (N VaultDynamicSecrets, one database lease each). */
export interface DynamicRun extends RunBase {
  /** Operator start until every destination holds a username and a password. */
  issueS: number;
  steady: {
    windowS: number;
    secretWrites: number;
    /** database/creds reads: new leases (0 if every lease was renewed instead). */
    issues: number;
    renewals: number;
    renewalsPerLeasePerMinute: number;
    revocations: number;
    logins: number;
  };
  /** Vault requests from the operator's start until it stopped, and those Vault refused (status >= 400). */
  vaultRun: { all: Record<string, number>; failed: Record<string, number> };
  /**
   * Live leases of the role: N if nothing leaked. Right after the sync every lease ever issued
   * and not revoked is still live (a lost one expires unrenewed one TTL later); after the stop,
   * what the operator left behind. Abandoned: issued over the run, neither revoked nor live
   * after the stop (left to expire unrenewed).
   */
  leases: { expected: number; afterSync: number; afterSteady: number; afterStop: number; abandoned: number };
}

/** A static-kind run with the operator in a memory cgroup (BENCH_MEMORY_LIMIT_MIB). */
export interface MemoryLimitRun {
  operator: string;
  version: string;
  round: number;
  n: number;
  limitMiB: number;
  loadAverage: { start: number[]; end: number[] };
  /** Undefined when the operator died before every Secret was correct. */
  coldSyncS?: number;
  correctAtEnd: number;
  /** Alive at the end of the steady window. */
  survived: boolean;
  died?: { code: number | null; signal: string | null; afterS: number };
  oomKills: number;
  /** Pages the cgroup read back from disk (the executable's, once evicted): thrashing shows here. */
  majorFaults: number;
  /** The cgroup's own peak charge (the process plus page cache charged to it). */
  cgroupPeakMiB: number;
  /** VmRSS sampled from /proc (file-backed pages of the executable included). */
  peakRssMiB: number;
  cpuTotalS: number;
}

export interface MemoryLimitReport {
  n: number;
  limitMiB: number;
  steadyS: number;
  runs: MemoryLimitRun[];
}

/** The memory-limit runs: JSON, and their table in docs/benchmarks.md. */
export function writeMemoryLimitReport(report: MemoryLimitReport): string {
  const name = `${report.n}-memory-${report.limitMiB}`;
  const { file, date } = writeJson(name, report);
  const lines = [
    `### N = ${report.n} under a ${report.limitMiB} MiB memory limit (${date})`,
    "",
    `Each operator in a memory cgroup of ${report.limitMiB} MiB (as a Pod's \`resources.limits.memory\`), then ${report.steadyS} s of steady state.`,
    "",
    "| run | operator | load avg (start → end) | outcome | Secrets correct | cold sync (s) | OOM kills | major faults | cgroup peak (MiB) | RSS peak (MiB) | CPU (s) |",
    "|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  report.runs.forEach((r, i) => {
    const outcome = !r.survived
      ? `died after ${r.died?.afterS.toFixed(0)} s (${r.died?.signal ?? `exit ${r.died?.code}`})`
      : r.coldSyncS === undefined
        ? "alive, sync unfinished when the wait ended"
        : "ran to the end";
    lines.push(
      `| ${i + 1} | ${r.operator} | ${r.loadAverage.start[0].toFixed(1)} → ${r.loadAverage.end[0].toFixed(1)} | ${outcome} | ${r.correctAtEnd}/${r.n} | ${r.coldSyncS?.toFixed(1) ?? "never"} | ${r.oomKills} | ${r.majorFaults} | ${r.cgroupPeakMiB.toFixed(0)} | ${r.peakRssMiB.toFixed(0)} | ${r.cpuTotalS.toFixed(1)} |`,
    );
  });
  writeSection(name, `bench/results/${date}-${name}.json`, lines);
  return file;
}

export interface LimitResult {
  concurrency: number;
  n: number;
  totalS: number;
  perSecond: number;
  peakRssMiB: number;
  cpuS: number;
  loadAverage: { start: number[]; end: number[] };
}

export interface Report {
  n: number;
  steadyS: number;
  refreshS: number;
  runs: OperatorRun[];
  limit: LimitResult[];
  machine: Record<string, unknown>;
}

export interface DynamicReport {
  kind: "dynamic";
  n: number;
  steadyS: number;
  leaseTtlS: number;
  leaseMaxTtl: string;
  runs: DynamicRun[];
  machine: Record<string, unknown>;
}

const total = (c: Record<string, number>) => Object.values(c).reduce((a, b) => a + b, 0);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

interface Row<R> {
  label: string;
  get: (r: R) => number;
  digits: number;
  /** The limit program's value, when it has one. */
  limit?: (l: LimitResult) => number;
}

/** Memory and CPU, the same rows for every kind. */
const RESOURCE_ROWS: Row<RunBase>[] = [
  { label: "peak RSS (MiB)", get: (r) => r.peakRssMiB, digits: 0, limit: (l) => l.peakRssMiB },
  { label: "RSS after sync (MiB)", get: (r) => r.rssAfterSyncMiB, digits: 0 },
  { label: "steady RSS, mean (MiB)", get: (r) => r.steadyRssMiB, digits: 0 },
  { label: "RSS at the end (MiB)", get: (r) => r.rssEndMiB, digits: 0 },
  { label: "heap used after sync (MiB)", get: (r) => r.heapAfterSyncMiB ?? Number.NaN, digits: 0 },
  { label: "CPU during sync (s)", get: (r) => r.cpuSyncS, digits: 1, limit: (l) => l.cpuS },
  { label: "CPU in steady state (s)", get: (r) => r.cpuSteadyS, digits: 1 },
  { label: "CPU, whole run (s)", get: (r) => r.cpuTotalS, digits: 1 },
];

const ROWS: Row<OperatorRun>[] = [
  { label: "cold sync (s)", get: (r) => r.coldSyncS, digits: 1, limit: (l) => l.totalS },
  {
    label: "sync throughput (Secrets/s)",
    get: (r) => r.n / r.coldSyncS,
    digits: 0,
    limit: (l) => l.perSecond,
  },
  ...RESOURCE_ROWS,
  { label: "sync: Vault logins", get: (r) => r.vault.sync.login ?? 0, digits: 0 },
  { label: "sync: Vault KV reads", get: (r) => r.vault.sync["kv-read"] ?? 0, digits: 0 },
  { label: "sync: API requests", get: (r) => r.api.syncTotal, digits: 0 },
  { label: "steady: Secret writes", get: (r) => r.steady.secretWrites, digits: 0 },
  {
    label: "steady: KV reads per secret per refresh",
    get: (r) => r.steady.kvReadsPerSecretPerRefresh,
    digits: 2,
  },
  { label: "steady: Vault logins", get: (r) => r.steady.logins, digits: 0 },
  { label: "steady: API requests", get: (r) => r.api.steadyTotal, digits: 0 },
  { label: "propagation p50 (s)", get: (r) => r.propagation.p50S, digits: 1 },
  { label: "propagation p99 (s)", get: (r) => r.propagation.p99S, digits: 1 },
];

const DYNAMIC_ROWS: Row<DynamicRun>[] = [
  { label: "issue time (s)", get: (r) => r.issueS, digits: 1 },
  { label: "issue throughput (Secrets/s)", get: (r) => r.n / r.issueS, digits: 0 },
  ...RESOURCE_ROWS,
  { label: "sync: Vault logins", get: (r) => r.vault.sync.login ?? 0, digits: 0 },
  { label: "sync: credentials issued", get: (r) => r.vault.sync["db-creds"] ?? 0, digits: 0 },
  { label: "sync: lease revocations", get: (r) => r.vault.sync["lease-revoke"] ?? 0, digits: 0 },
  { label: "sync: API requests", get: (r) => r.api.syncTotal, digits: 0 },
  { label: "steady: lease renewals", get: (r) => r.steady.renewals, digits: 0 },
  {
    label: "steady: renewals per lease per minute",
    get: (r) => r.steady.renewalsPerLeasePerMinute,
    digits: 2,
  },
  { label: "steady: credentials issued", get: (r) => r.steady.issues, digits: 0 },
  { label: "steady: lease revocations", get: (r) => r.steady.revocations, digits: 0 },
  { label: "steady: Vault logins", get: (r) => r.steady.logins, digits: 0 },
  { label: "steady: Secret writes", get: (r) => r.steady.secretWrites, digits: 0 },
  { label: "steady: API requests", get: (r) => r.api.steadyTotal, digits: 0 },
  { label: "whole run: Vault requests refused", get: (r) => total(r.vaultRun.failed), digits: 0 },
  { label: "live leases right after the sync", get: (r) => r.leases.afterSync, digits: 0 },
  { label: "live leases at the end of the steady window", get: (r) => r.leases.afterSteady, digits: 0 },
  { label: "live leases after the operator stopped", get: (r) => r.leases.afterStop, digits: 0 },
  {
    label: "leases abandoned (issued − revoked − live after the stop)",
    get: (r) => r.leases.abandoned,
    digits: 0,
  },
];

const fmt = (x: number, d: number) => (Number.isFinite(x) ? x.toFixed(d) : "–");

function medians<R extends RunBase>(runs: R[]) {
  const ops = [...new Set(runs.map((r) => r.operator))];
  const med = (op: string, row: Row<R>) => median(runs.filter((r) => r.operator === op).map(row.get));
  return { ops, med };
}

export function summarize(report: Report) {
  const best = [...report.limit].sort((a, b) => a.totalS - b.totalS)[0];
  return { ...medians(report.runs), best };
}

/** Medians per operator, the limit's value where it has one, and vso-ts / VSO. */
function table<R extends RunBase>(runs: R[], rows: Row<R>[], best?: LimitResult): string {
  const { ops, med } = medians(runs);
  const hasPeer = ops.includes("vso-ts") && ops.includes("vso");
  const head = [
    "measure",
    ...ops,
    ...(best ? [`limit (c=${best.concurrency})`] : []),
    ...(hasPeer ? ["vso-ts / VSO"] : []),
  ];
  const lines = [`| ${head.join(" | ")} |`, `|${head.map(() => "---").join("|")}|`];
  for (const row of rows) {
    const vals = ops.map((o) => med(o, row));
    const cells = [row.label, ...vals.map((v) => fmt(v, row.digits))];
    if (best) cells.push(row.limit ? fmt(row.limit(best), row.digits) : "");
    if (hasPeer) {
      const a = med("vso-ts", row);
      const b = med("vso", row);
      cells.push(b !== 0 && Number.isFinite(a / b) ? (a / b).toFixed(2) : "");
    }
    lines.push(`| ${cells.join(" | ")} |`);
  }
  return lines.join("\n");
}

function runsTable(report: Report): string {
  const lines = [
    "| run | operator | load avg (start → end) | cold sync (s) | peak RSS (MiB) | CPU (s) | p99 (s) |",
    "|---|---|---|---|---|---|---|",
  ];
  report.runs.forEach((r, i) => {
    lines.push(
      `| ${i + 1} | ${r.operator} | ${r.loadAverage.start[0].toFixed(1)} → ${r.loadAverage.end[0].toFixed(1)} | ${r.coldSyncS.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} | ${r.cpuTotalS.toFixed(1)} | ${r.propagation.p99S.toFixed(1)} |`,
    );
  });
  for (const l of report.limit) {
    lines.push(
      `| limit | c=${l.concurrency} | ${l.loadAverage.start[0].toFixed(1)} → ${l.loadAverage.end[0].toFixed(1)} | ${l.totalS.toFixed(1)} | ${l.peakRssMiB.toFixed(0)} | ${l.cpuS.toFixed(1)} | |`,
    );
  }
  return lines.join("\n");
}

const COLORS: Record<string, string> = {
  "vso-ts": "#2b7bb9",
  vso: "#e07b39",
  "vso-tuned": "#c4a000",
  limit: "#6a9a3a",
};

/** Grouped bars, one panel per measure, drawn by hand (no plotting library). */
export function svgChart(report: Report): string {
  const { ops, best, med } = summarize(report);
  const panels = [ROWS[0], ROWS[2], ROWS[9]];
  const W = 240;
  const H = 220;
  const top = 40;
  const base = 180;
  const series = [...ops, ...(best ? ["limit"] : [])];
  const parts: string[] = [];
  panels.forEach((row, p) => {
    const x0 = 20 + p * (W + 20);
    const vals = series.map((s) =>
      s === "limit" ? (row.limit && best ? row.limit(best) : Number.NaN) : med(s, row),
    );
    const max = Math.max(...vals.filter(Number.isFinite), 1);
    parts.push(`<text x="${x0 + W / 2}" y="24" text-anchor="middle" font-weight="bold">${row.label}</text>`);
    parts.push(`<line x1="${x0}" y1="${base}" x2="${x0 + W}" y2="${base}" stroke="#333"/>`);
    const bw = Math.min(50, (W - 20) / series.length - 10);
    series.forEach((s, i) => {
      const v = vals[i];
      if (!Number.isFinite(v)) return;
      const h = ((base - top) * v) / max;
      const x = x0 + 10 + i * (bw + 10);
      parts.push(
        `<rect x="${x}" y="${(base - h).toFixed(1)}" width="${bw}" height="${h.toFixed(1)}" fill="${COLORS[s] ?? "#888"}"/>`,
      );
      parts.push(
        `<text x="${x + bw / 2}" y="${(base - h - 4).toFixed(1)}" text-anchor="middle">${fmt(v, row.digits)}</text>`,
      );
      parts.push(`<text x="${x + bw / 2}" y="${base + 16}" text-anchor="middle">${s}</text>`);
    });
  });
  const width = 20 + panels.length * (W + 20);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<title>Benchmark at N = ${report.n} VaultStaticSecrets</title>`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...parts,
    `<text x="${width - 10}" y="${H - 8}" text-anchor="end" fill="#666">N = ${report.n} VaultStaticSecrets; medians of ${Math.max(...ops.map((o) => report.runs.filter((r) => r.operator === o).length))} runs</text>`,
    "</svg>",
    "",
  ].join("\n");
}

/** bench/results/<date>-<name>.json with every figure; returns its path and the date. */
function writeJson(
  name: string,
  report: Report | DynamicReport | MemoryLimitReport,
): { file: string; date: string } {
  const date = new Date().toISOString().slice(0, 10);
  const dir = join(REPO_ROOT, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${date}-${name}.json`);
  writeFileSync(file, `${JSON.stringify({ date: new Date().toISOString(), ...report }, null, 2)}\n`);
  return { file, date };
}

/** Replaces (or appends) the section between `<!-- bench:<marker>:begin` and its end marker in docs/benchmarks.md. */
function writeSection(marker: string, source: string, body: string[]): void {
  const section = [
    `<!-- bench:${marker}:begin (written by bench/harness.ts from ${source}) -->`,
    ...body,
    `<!-- bench:${marker}:end -->`,
  ].join("\n");
  const doc = join(REPO_ROOT, "docs", "benchmarks.md");
  let text = existsSync(doc) ? readFileSync(doc, "utf8") : "# Benchmarks\n\n## Results\n\n";
  const re = new RegExp(`<!-- bench:${marker}:begin[\\s\\S]*?<!-- bench:${marker}:end -->`);
  text = re.test(text) ? text.replace(re, section) : `${text.trimEnd()}\n\n${section}\n`;
  writeFileSync(doc, text);
}

export function writeReport(report: Report): string {
  const { file, date } = writeJson(String(report.n), report);
  const svgName = `benchmarks-${report.n}.svg`;
  writeFileSync(join(REPO_ROOT, "docs", svgName), svgChart(report));
  writeSection(String(report.n), `bench/results/${date}-${report.n}.json`, [
    `### N = ${report.n} (${date})`,
    "",
    `![vso-ts vs VSO vs the limit at N = ${report.n}](${svgName})`,
    "",
    "Medians per operator; the ratio column divides vso-ts by VSO (below 1: vso-ts uses less).",
    "",
    table(report.runs, ROWS, summarize(report).best),
    "",
    "Every run, in the order they ran:",
    "",
    runsTable(report),
  ]);
  return file;
}

function dynamicRunsTable(report: DynamicReport): string {
  const lines = [
    "| run | operator | load avg (start → end) | issue time (s) | peak RSS (MiB) | CPU (s) | renewals per lease per minute | live leases (after sync, end of steady, after stop) |",
    "|---|---|---|---|---|---|---|---|",
  ];
  report.runs.forEach((r, i) => {
    lines.push(
      `| ${i + 1} | ${r.operator} | ${r.loadAverage.start[0].toFixed(1)} → ${r.loadAverage.end[0].toFixed(1)} | ${r.issueS.toFixed(1)} | ${r.peakRssMiB.toFixed(0)} | ${r.cpuTotalS.toFixed(1)} | ${r.steady.renewalsPerLeasePerMinute.toFixed(2)} | ${r.leases.afterSync}, ${r.leases.afterSteady}, ${r.leases.afterStop} |`,
    );
  });
  return lines.join("\n");
}

export function writeDynamicReport(report: DynamicReport): string {
  const name = `dynamic-${report.n}`;
  const { file, date } = writeJson(name, report);
  writeSection(name, `bench/results/${date}-${name}.json`, [
    `### N = ${report.n} VaultDynamicSecrets (${date})`,
    "",
    `Lease TTL ${report.leaseTtlS} s (max ${report.leaseMaxTtl}), steady window ${report.steadyS} s.`,
    "Medians per operator; the ratio column divides vso-ts by VSO (below 1: vso-ts uses less).",
    "",
    table(report.runs, DYNAMIC_ROWS),
    "",
    "Every run, in the order they ran:",
    "",
    dynamicRunsTable(report),
  ]);
  return file;
}
