// Template engine benchmark: render throughput and parse cost, with and without the parse
// cache. Writes bench/results/template.json.
//   node bench/template-bench.ts [--seconds N]
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  setParseCache,
  TemplateSet,
  templateInputFromVaultData,
  vaultDataFromJSON,
} from "../src/template/index.ts";

const seconds = Number(process.argv[process.argv.indexOf("--seconds") + 1]) || 1;

const templates: Record<string, string> = {
  connectionString:
    '{{- printf "postgresql://%s:%s@%s:%v/app?sslmode=require" (get .Secrets "username") (get .Secrets "password") .Secrets.host .Secrets.port -}}',
  envFile:
    '{{- range $k, $v := .Secrets }}{{ $k | upper | replace "-" "_" }}={{ $v | toString | quote }}\n{{ end -}}',
  jsonConfig:
    '{{- dict "db" (dict "user" .Secrets.username "pass" (.Secrets.password | b64enc) "port" (int .Secrets.port)) "labels" .Labels | toPrettyJson -}}',
  conditional:
    "{{- if and .Secrets.username (gt (len .Secrets.password) 3) }}{{ .Secrets.username | sha256sum | trunc 12 }}{{ else }}none{{ end -}}",
};

const input = templateInputFromVaultData(
  vaultDataFromJSON(
    JSON.stringify({
      data: {
        username: "app",
        password: "s3cr3t-p4ss",
        host: "db.example.com",
        port: 5432,
        "api-key": "k",
        "tls-mode": "verify-full",
      },
      metadata: { version: 4 },
    }),
  ),
  { kvV2: true, labels: { app: "web", tier: "backend" } },
);

interface Measure {
  opsPerSec: number;
  usPerOp: number;
  iterations: number;
}

function measure(fn: () => void): Measure {
  for (let i = 0; i < 200; i++) fn(); // warm-up
  const deadline = performance.now() + seconds * 1000;
  let n = 0;
  const start = performance.now();
  while (performance.now() < deadline) {
    for (let i = 0; i < 50; i++) fn();
    n += 50;
  }
  const ms = performance.now() - start;
  return {
    opsPerSec: Math.round((n / ms) * 1000),
    usPerOp: Number(((ms * 1000) / n).toFixed(2)),
    iterations: n,
  };
}

const results: Record<string, Record<string, Measure | number>> = {};
let salt = 0;
for (const [name, text] of Object.entries(templates)) {
  // render only: parsed once, executed many times
  const set = new TemplateSet().parse(name, text);
  const execute = measure(() => {
    set.execute(name, input);
  });
  // parse + render through the content-addressed parse cache (the operator's path)
  setParseCache(true);
  const cached = measure(() => {
    new TemplateSet().parse(name, text).execute(name, input);
  });
  // parse + render without the cache
  setParseCache(false);
  const uncached = measure(() => {
    new TemplateSet().parse(name, text).execute(name, input);
  });
  // parse cost alone (unique text each time, so nothing is cached)
  const parseOnly = measure(() => {
    new TemplateSet().parse(name, `${text}{{/* ${salt++} */}}`);
  });
  setParseCache(true);
  results[name] = {
    execute,
    parseAndRenderCached: cached,
    parseAndRenderUncached: uncached,
    parseOnly,
    cacheSpeedup: Number((cached.opsPerSec / uncached.opsPerSec).toFixed(2)),
    parseToRenderCostRatio: Number((parseOnly.usPerOp / execute.usPerOp).toFixed(2)),
  };
}

const out = {
  date: new Date().toISOString(),
  node: process.version,
  secondsPerMeasure: seconds,
  results,
};
const here = dirname(fileURLToPath(import.meta.url));
mkdirSync(join(here, "results"), { recursive: true });
writeFileSync(join(here, "results", "template.json"), JSON.stringify(out, null, 2) + "\n");

for (const [name, r] of Object.entries(results)) {
  const m = (k: string) => r[k] as Measure;
  console.log(
    `${name.padEnd(17)} execute ${String(m("execute").opsPerSec).padStart(8)}/s  ` +
      `parse+render cached ${String(m("parseAndRenderCached").opsPerSec).padStart(8)}/s  ` +
      `uncached ${String(m("parseAndRenderUncached").opsPerSec).padStart(8)}/s  ` +
      `parse ${m("parseOnly").usPerOp}µs  cache speedup x${r.cacheSpeedup}  parse/render x${r.parseToRenderCostRatio}`,
  );
}
