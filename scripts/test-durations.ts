// Per-file test durations, measured by scripts/test-durations-reporter.ts and
// kept in the cache so the next run can start the slowest files first.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { relative } from "node:path";

/** Seconds per test file (path relative to the repository). */
export type FileDurations = Record<string, number>;

export function loadDurations(path: string): FileDurations {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as FileDurations;
  } catch {
    return {};
  }
}

/**
 * Slowest first. A file never measured goes first too (it may be long); the
 * sort is stable, so ties keep their given order.
 */
export function longestFirst(files: string[], known: FileDurations): string[] {
  const weight = (f: string) => known[f] ?? Number.POSITIVE_INFINITY;
  return [...files].sort((a, b) => weight(b) - weight(a));
}

/** Sums the reporter's lines per file, merges them into `path` and returns this run's figures. */
export function recordDurations(path: string, linesPath: string, root: string): FileDurations {
  const run: FileDurations = {};
  if (!existsSync(linesPath)) return run;
  for (const line of readFileSync(linesPath, "utf8").split("\n")) {
    if (!line) continue;
    const { file, ms } = JSON.parse(line) as { file: string; ms: number };
    const key = relative(root, file);
    run[key] = (run[key] ?? 0) + ms / 1000;
  }
  writeFileSync(path, `${JSON.stringify({ ...loadDurations(path), ...run }, null, 1)}\n`);
  return run;
}

export function slowest(d: FileDurations, n: number): string {
  return Object.entries(d)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([f, s]) => `${f} ${s.toFixed(0)}`)
    .join(", ");
}
