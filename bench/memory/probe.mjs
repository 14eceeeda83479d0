// Preload: at exit or on SIGUSR2, GC and write memory stats as JSON to $PROBE_OUT.

import { readFileSync, writeFileSync } from "node:fs";
import v8 from "node:v8";
import { runInNewContext } from "node:vm";

v8.setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc");
function smaps() {
  const r = {};
  for (const l of readFileSync("/proc/self/smaps_rollup", "utf8").split("\n")) {
    const m = /^(\w+):\s+(\d+) kB/.exec(l);
    if (m) r[m[1]] = +m[2] / 1024;
  }
  // file-backed pages of the node executable vs the rest
  let exe = 0,
    anon = 0,
    otherFile = 0;
  let cur = "";
  for (const l of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const h = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(l);
    if (h) {
      cur = h[1];
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(l);
    if (m) {
      const v = +m[1] / 1024;
      if (cur === process.execPath || cur.endsWith("/node")) exe += v;
      else if (cur.startsWith("/")) otherFile += v;
      else anon += v;
    }
  }
  return { ...r, exe, otherFile, anonAndOther: anon };
}
function dump(tag) {
  gc();
  gc();
  const mu = process.memoryUsage();
  const spaces = Object.fromEntries(
    v8.getHeapSpaceStatistics().map((s) => [s.space_name, +(s.space_used_size / 2 ** 20).toFixed(2)]),
  );
  const hs = v8.getHeapStatistics();
  const out = {
    tag,
    rss: mu.rss / 2 ** 20,
    heapTotal: mu.heapTotal / 2 ** 20,
    heapUsed: mu.heapUsed / 2 ** 20,
    external: mu.external / 2 ** 20,
    arrayBuffers: mu.arrayBuffers / 2 ** 20,
    mallocedMemory: hs.malloced_memory / 2 ** 20,
    peakMalloced: hs.peak_malloced_memory / 2 ** 20,
    codeAndMetadata: (hs.total_heap_code_and_metadata_size ?? 0) / 2 ** 20,
    spaces,
    smaps: smaps(),
    hwm: +/VmHWM:\s+(\d+)/.exec(readFileSync("/proc/self/status", "utf8"))[1] / 1024,
  };
  writeFileSync(process.env.PROBE_OUT ?? "/dev/stderr", JSON.stringify(out) + "\n", { flag: "a" });
}
process.on("exit", () => dump("exit"));
process.on("SIGUSR2", () => dump("usr2"));
