// Bundles src/cli/main.ts as the image does, with some modules replaced by an empty CommonJS stub,
// and measures `vso run --version` (the operator's module graph evaluated, nothing started).

import { execFileSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as esbuild from "esbuild";
// The chart's Node flags, plus $NODE_EXTRA_FLAGS.
import { CHART_NODE_FLAGS as CHART_FLAGS } from "../lib/node-flags.ts";

const W = process.env.W ?? new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const cases = JSON.parse(process.argv[2]);
const args = (process.env.ARGS ?? "run --version").split(" ");
const runs = Number(process.env.RUNS ?? 3);
async function measure(name, stubs) {
  const res = await esbuild.build({
    entryPoints: [W + "/src/cli/main.ts"],
    bundle: true,
    write: false,
    platform: "node",
    format: "esm",
    target: "node24",
    external: ["./dev.ts"],
    minifyWhitespace: true,
    minifySyntax: true,
    logLevel: "error",
    absWorkingDir: W,
    banner: {
      js: "import { createRequire as __vsoCreateRequire } from 'node:module'; const require = __vsoCreateRequire(import.meta.url);",
    },
    plugins: [
      {
        // as bundleOperator (src/dev/operator-image.ts): "undici" is the subset the operator uses
        name: "undici-subset",
        setup(b) {
          b.onResolve({ filter: /^undici$/ }, () => ({ path: `${W}/src/dev/bundle/undici-subset.mjs` }));
        },
      },
      {
        name: "stub",
        setup(b) {
          const re = new RegExp(
            "(" +
              (stubs.length
                ? stubs.map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")).join("|")
                : "^$NEVER") +
              ")$",
          );
          b.onResolve({ filter: re }, (a) => ({ path: a.path, namespace: "stub" }));
          b.onLoad({ filter: /.*/, namespace: "stub" }, () => ({
            contents: "module.exports = {};",
            loader: "js",
          }));
        },
      },
    ],
  });
  const file = `/tmp/mem/s-${name.replace(/\W/g, "_")}.mjs`;
  writeFileSync(
    file,
    res.outputFiles[0].text.replace(
      /[^\x00-\x7f]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    ),
    "latin1",
  );
  const out = `/tmp/mem/q-${name.replace(/\W/g, "_")}.json`;
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
        ...args,
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
    ext: med((r) => r.external),
  };
}
const base = await measure("full", []);
const f = (x) => x.toFixed(1).padStart(6);
console.log(`| left out of the bundle | bundle KiB | RSS MiB | exe pages | anon | heap used | external |`);
console.log(
  `| (nothing: the image's bundle) | ${base.kib} | ${f(base.rss)} | ${f(base.exe)} | ${f(base.anon)} | ${f(base.heap)} | ${f(base.ext)} |`,
);
for (const [name, stubs] of cases) {
  const m = await measure(name, stubs);
  console.log(
    `| ${name} | ${m.kib} | ${f(m.rss - base.rss)} | ${f(m.exe - base.exe)} | ${f(m.anon - base.anon)} | ${f(m.heap - base.heap)} | ${f(m.ext - base.ext)} |`,
  );
}
