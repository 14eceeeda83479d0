// cgroup bookkeeping for the local node (cgroup v1 hierarchies under
// /sys/fs/cgroup, or the unified v2 tree). Every cgroup it uses lives below
// one root named after the environment, in each hierarchy: the kubelet's
// `cgroupRoot` (Pods) and a `daemons` group for containerd, whose shims and
// their children inherit it. Teardown kills what is left in those groups and
// removes the directories, deepest first. Nothing else is touched.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const CG = "/sys/fs/cgroup";

/** The mounted hierarchies: each controller directory on v1, the root on v2. */
export function hierarchies(): string[] {
  if (existsSync(join(CG, "cgroup.controllers"))) return [CG];
  return readdirSync(CG)
    .map((d) => join(CG, d))
    .filter((d) => existsSync(join(d, "cgroup.procs")));
}

/** Creates /<root> in every hierarchy; a v1 cpuset group gets its parent's cpus and mems first. */
export function createRoot(root: string): void {
  for (const h of hierarchies()) {
    const dir = join(h, root);
    mkdirSync(dir, { recursive: true });
    if (h.endsWith("/cpuset")) {
      for (const f of ["cpuset.cpus", "cpuset.mems"]) {
        const mine = readFileSync(join(dir, f), "utf8").trim();
        if (!mine) writeFileSync(join(dir, f), readFileSync(join(h, f), "utf8").trim());
      }
    }
  }
}

/** Moves a process into /<root>/<group> in every hierarchy (so its descendants stay there too). */
export function adopt(root: string, group: string, pid: number): void {
  for (const h of hierarchies()) {
    const dir = join(h, root, group);
    mkdirSync(dir, { recursive: true });
    if (h.endsWith("/cpuset")) {
      for (const f of ["cpuset.cpus", "cpuset.mems"]) {
        if (!readFileSync(join(dir, f), "utf8").trim())
          writeFileSync(join(dir, f), readFileSync(join(h, root, f), "utf8").trim());
      }
    }
    writeFileSync(join(dir, "cgroup.procs"), String(pid));
  }
}

function walk(dir: string, out: string[]): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true }))
    if (e.isDirectory()) walk(join(dir, e.name), out);
  out.push(dir);
}

/** Every cgroup directory at or below /<root>, children before parents. */
export function groupsUnder(root: string): string[] {
  const out: string[] = [];
  for (const h of hierarchies()) walk(join(h, root), out);
  return out;
}

export function pidsUnder(root: string): number[] {
  const pids = new Set<number>();
  for (const g of groupsUnder(root)) {
    try {
      for (const l of readFileSync(join(g, "cgroup.procs"), "utf8").split("\n")) if (l) pids.add(Number(l));
    } catch {
      /* removed meanwhile */
    }
  }
  return [...pids];
}

/** SIGKILLs every process left below /<root>, then removes the groups. Returns the pids it killed. */
export async function destroyRoot(root: string, timeoutMs = 15_000): Promise<number[]> {
  const killed = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pids = pidsUnder(root);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
        killed.add(pid);
      } catch {
        /* gone */
      }
    }
    let left = 0;
    for (const g of groupsUnder(root)) {
      try {
        rmdirSync(g);
      } catch {
        left++;
      }
    }
    if (left === 0 || Date.now() > deadline) break;
    await sleep(100);
  }
  return [...killed];
}
