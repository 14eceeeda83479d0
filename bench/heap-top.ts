// Summarizes a V8 heap snapshot (from --heapsnapshot-signal, see docs/benchmarks.md): self size
// and count per node type and constructor name, largest first, so what holds memory shows.
//   node bench/heap-top.ts FILE.heapsnapshot [top=30]
import { readFileSync } from "node:fs";

const [file, topArg] = process.argv.slice(2);
const snap = JSON.parse(readFileSync(file, "utf8")) as {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
};
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const width = fields.length;
const [iType, iName, iSize] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
const groups = new Map<string, { size: number; count: number }>();
let totalSize = 0;
for (let i = 0; i < snap.nodes.length; i += width) {
  const type = types[snap.nodes[i + iType]];
  const name = snap.strings[snap.nodes[i + iName]];
  const key =
    type === "object" || type === "closure" || type === "native" ? `${type}: ${name.slice(0, 60)}` : type;
  const size = snap.nodes[i + iSize];
  totalSize += size;
  const g = groups.get(key) ?? { size: 0, count: 0 };
  g.size += size;
  g.count++;
  groups.set(key, g);
}
console.log(`total self size ${(totalSize / 2 ** 20).toFixed(1)} MiB in ${snap.nodes.length / width} nodes`);
for (const [k, g] of [...groups].sort((a, b) => b[1].size - a[1].size).slice(0, Number(topArg ?? 30))) {
  console.log(`${(g.size / 2 ** 20).toFixed(2).padStart(8)} MiB ${String(g.count).padStart(8)}  ${k}`);
}
