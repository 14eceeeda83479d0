// Bundles one entry per module (statically imported, so its top level runs) with the image's esbuild
// options, runs it under the chart's flags (plus $NODE_EXTRA_FLAGS) with the probe, and prints
// RSS/heap deltas vs an empty bundle.

import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as esbuild from "esbuild";
// The chart's Node flags, plus $NODE_EXTRA_FLAGS.
import { CHART_NODE_FLAGS as CHART_FLAGS } from "../lib/node-flags.ts";

const W = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const cases = JSON.parse(process.argv[2]);
const runs = Number(process.env.RUNS ?? 3);
async function measure(name, contents) {
  const res = await esbuild.build({
    stdin: { contents, resolveDir: W + "/src", loader: "ts" },
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    target: "node24",
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: "error",
    absWorkingDir: W,
    banner: {
      js: "import { createRequire as __vsoCreateRequire } from 'node:module'; const require = __vsoCreateRequire(import.meta.url);",
    },
  });
  const file = `/tmp/mem/b-${name.replace(/\W/g, "_")}.mjs`;
  writeFileSync(
    file,
    res.outputFiles[0].text.replace(
      /[^\x00-\x7f]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    ),
    "latin1",
  );
  const out = `/tmp/mem/p-${name.replace(/\W/g, "_")}.json`;
  rmSync(out, { force: true });
  for (let i = 0; i < runs; i++)
    execFileSync(
      process.execPath,
      [
        ...CHART_FLAGS,
        ...(process.env.NODE_EXTRA_FLAGS ?? "").split(" ").filter(Boolean),
        "--import",
        new URL("probe.mjs", import.meta.url).pathname,
        file,
      ],
      { env: { ...process.env, PROBE_OUT: out }, stdio: "ignore" },
    );
  const rows = readFileSync(out, "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l));
  const med = (f) => rows.map(f).sort((a, b) => a - b)[Math.floor(rows.length / 2)];
  return {
    name,
    kib: Math.round(res.outputFiles[0].contents.length / 1024),
    rss: med((r) => r.rss),
    exe: med((r) => r.smaps.exe),
    anon: med((r) => r.smaps.Anonymous),
    heap: med((r) => r.heapUsed),
    code: med((r) => r.spaces.code_space),
    ext: med((r) => r.external),
  };
}
const base = await measure("empty", "export {};");
const f = (x) => x.toFixed(1).padStart(6);
console.log(`| module | bundle KiB | RSS | exe pages | anon | heap used | code | external |`);
console.log(
  `| (empty bundle) | ${base.kib} | ${f(base.rss)} | ${f(base.exe)} | ${f(base.anon)} | ${f(base.heap)} | ${f(base.code)} | ${f(base.ext)} |`,
);
for (const [name, contents] of cases) {
  const m = await measure(name, contents);
  console.log(
    `| ${name} | ${m.kib} | +${f(m.rss - base.rss)} | +${f(m.exe - base.exe)} | +${f(m.anon - base.anon)} | +${f(m.heap - base.heap)} | +${f(m.code - base.code)} | +${f(m.ext - base.ext)} |`,
  );
}
