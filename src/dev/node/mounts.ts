// Mount bookkeeping for the local node: the kubelet's root directory is a
// shared bind mount (so volume mounts made in the kubelet's private mount
// namespace reach containerd), and Pods leave tmpfs, overlay and netns mounts
// under the environment's directories. Teardown unmounts exactly those, deepest first.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Mount points (from /proc/self/mountinfo) at or below any of the prefixes. */
export function mountsUnder(prefixes: string[]): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    if (fields.length < 5) continue;
    // Field 5 is the mount point, with spaces and the like octal-escaped.
    const mp = fields[4].replace(/\\([0-7]{3})/g, (_, o: string) =>
      String.fromCharCode(Number.parseInt(o, 8)),
    );
    if (prefixes.some((p) => mp === p || mp.startsWith(`${p}/`))) out.push(mp);
  }
  return out;
}

export function bindShared(dir: string): void {
  execFileSync("mount", ["--bind", dir, dir]);
  execFileSync("mount", ["--make-shared", dir]);
}

/** Unmounts every mount at or below the prefixes, deepest first; returns what it unmounted. */
export function unmountAll(prefixes: string[]): string[] {
  const done: string[] = [];
  for (let round = 0; round < 5; round++) {
    const mps = mountsUnder(prefixes).sort((a, b) => b.length - a.length);
    if (mps.length === 0) break;
    for (const mp of mps) {
      try {
        execFileSync("umount", [mp], { stdio: "pipe" });
      } catch {
        execFileSync("umount", ["-l", mp], { stdio: "pipe" });
      }
      done.push(mp);
    }
  }
  return done;
}
