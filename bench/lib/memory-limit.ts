// A memory cgroup for one operator process, as a Pod's `resources.limits.memory` gives it:
// the kernel reclaims what it can (page cache, the executable's own clean pages) and
// OOM-kills the process when what it holds cannot fit. Used with BENCH_MEMORY_LIMIT_MIB.
// cgroup v2 when the machine has it unified, otherwise the v1 memory hierarchy, in both
// cases a child of the cgroup this harness runs in; removed after the run.
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";

interface Layout {
  dir: string;
  v2: boolean;
}

function ownCgroup(): Layout {
  const lines = readFileSync("/proc/self/cgroup", "utf8").trim().split("\n");
  const v2Root = "/sys/fs/cgroup";
  const unified = lines.find((l) => l.startsWith("0::"));
  if (existsSync(join(v2Root, "cgroup.controllers")) && unified) {
    const ctrls = readFileSync(join(v2Root, "cgroup.controllers"), "utf8");
    if (ctrls.split(/\s+/).includes("memory")) return { dir: join(v2Root, unified.slice(3)), v2: true };
  }
  const v1 = lines.map((l) => l.split(":")).find(([, ctrls]) => ctrls.split(",").includes("memory"));
  if (!v1) throw new Error("no memory cgroup controller on this machine");
  return { dir: join(v2Root, "memory", v1[2]), v2: false };
}

export class MemoryLimit {
  readonly mib: number;
  readonly dir: string;
  private readonly v2: boolean;
  private readonly copies: string[] = [];

  private constructor(mib: number, layout: Layout, name: string) {
    this.mib = mib;
    this.v2 = layout.v2;
    this.dir = join(layout.dir, name);
  }

  static create(mib: number, name: string): MemoryLimit {
    const limit = new MemoryLimit(mib, ownCgroup(), name);
    mkdirSync(limit.dir);
    const bytes = String(mib * 2 ** 20);
    writeFileSync(join(limit.dir, limit.v2 ? "memory.max" : "memory.limit_in_bytes"), bytes);
    if (limit.v2) writeFileSync(join(limit.dir, "memory.swap.max"), "0");
    return limit;
  }

  /**
   * The command, started inside the cgroup: a shell moves itself in, then execs it (same pid).
   * The executable runs from a private copy whose pages are dropped from the page cache first,
   * so the pages it faults in are charged to this cgroup as they would be in a Pod. (Run from
   * the shared copy, they were already in the cache, charged to whoever read them first: the
   * harness itself, for Node, 50 MiB that the limit never saw.)
   */
  wrap(cmd: string, args: string[]): { cmd: string; args: string[] } {
    const exe = join(this.dir.replace(/[/]/g, "_").slice(-60), basename(cmd));
    const copy = join(tmpdir(), exe);
    mkdirSync(dirname(copy), { recursive: true });
    copyFileSync(cmd, copy);
    chmodSync(copy, 0o755);
    // Node cannot ask the kernel to drop a file's cached pages; Python's os.posix_fadvise can.
    execFileSync("python3", [
      "-c",
      "import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)",
      copy,
    ]);
    this.copies.push(copy);
    return {
      cmd: "/bin/sh",
      args: ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', this.dir, copy, ...args],
    };
  }

  /** OOM kills in this cgroup so far. */
  oomKills(): number {
    const file = join(this.dir, this.v2 ? "memory.events" : "memory.oom_control");
    return Number(/^oom_kill (\d+)$/m.exec(readFileSync(file, "utf8"))?.[1] ?? 0);
  }

  /** Major page faults in this cgroup: pages read back from disk, the sign of a working set that does not fit. */
  majorFaults(): number {
    return Number(/^pgmajfault (\d+)$/m.exec(readFileSync(join(this.dir, "memory.stat"), "utf8"))?.[1] ?? 0);
  }

  /** The cgroup's peak charge (its processes' memory plus the page cache charged to it). */
  peakMiB(): number {
    const file = join(this.dir, this.v2 ? "memory.peak" : "memory.max_usage_in_bytes");
    return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) / 2 ** 20 : Number.NaN;
  }

  /** Removes the cgroup (its processes have exited) and the executables' copies. */
  remove(): void {
    for (const c of this.copies) rmSync(dirname(c), { recursive: true, force: true });
    for (let i = 0; i < 50; i++) {
      try {
        rmdirSync(this.dir);
        return;
      } catch {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
      }
    }
  }
}
