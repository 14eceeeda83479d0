// Samples one process's memory and CPU from /proc while it runs: VmRSS (resident now),
// VmHWM (the kernel's own peak of VmRSS) and utime+stime. Linux only.
import { readFileSync } from "node:fs";

const CLOCK_TICKS = 100; // USER_HZ on Linux x86_64

export interface ProcSample {
  t: number;
  rssKiB: number;
  hwmKiB: number;
  cpuS: number;
}

export function readProc(pid: number): ProcSample | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1] ?? 0);
    // Fields after the command name (which may hold spaces) start after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpuS = (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;
    return { t: Date.now(), rssKiB: kib("VmRSS"), hwmKiB: kib("VmHWM"), cpuS };
  } catch {
    return undefined;
  }
}

export class ProcSampler {
  readonly samples: ProcSample[] = [];
  private readonly timer: NodeJS.Timeout;

  readonly pid: number;

  constructor(pid: number, intervalMs = 250) {
    this.pid = pid;
    this.take();
    this.timer = setInterval(() => this.take(), intervalMs);
  }

  take(): ProcSample | undefined {
    const s = readProc(this.pid);
    if (s) this.samples.push(s);
    return s;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  last(): ProcSample | undefined {
    return this.samples.at(-1);
  }

  peakRssMiB(): number {
    const hwm = Math.max(0, ...this.samples.map((s) => s.hwmKiB));
    const rss = Math.max(0, ...this.samples.map((s) => s.rssKiB));
    return Math.max(hwm, rss) / 1024;
  }

  /** Mean RSS over [from, to] (ms timestamps). */
  meanRssMiB(from: number, to: number): number {
    const xs = this.samples.filter((s) => s.t >= from && s.t <= to).map((s) => s.rssKiB);
    return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length / 1024;
  }

  rssAtMiB(t: number): number {
    const s = this.samples.filter((x) => x.t <= t).at(-1);
    return s ? s.rssKiB / 1024 : 0;
  }

  cpuAt(t: number): number {
    const s = this.samples.filter((x) => x.t <= t).at(-1);
    return s?.cpuS ?? 0;
  }
}

export function loadAverage(): [number, number, number] {
  const [a, b, c] = readFileSync("/proc/loadavg", "utf8").split(" ").map(Number);
  return [a, b, c];
}
