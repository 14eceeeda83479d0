// The metric names the chart's Grafana dashboard and PrometheusRule query, for
// the unit test (against the operator's registry) and the end-to-end test
// (against a scrape of the running operator).
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT, toolPaths } from "../../src/dev/paths.ts";

export const CHART = join(REPO_ROOT, "deploy/chart/vault-secrets-operator");
export const DASHBOARD_DIR = join(CHART, "dashboards");

/** Every PromQL expression of the dashboards (panel targets and template variable queries). */
export function dashboardQueries(): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const f of readdirSync(DASHBOARD_DIR).filter((x) => x.endsWith(".json"))) {
    const d = JSON.parse(readFileSync(join(DASHBOARD_DIR, f), "utf8")) as {
      panels?: { title?: string; targets?: { expr?: string }[] }[];
      templating?: { list?: { name?: string; query?: string | { query?: string } }[] };
    };
    for (const p of d.panels ?? []) {
      for (const tg of p.targets ?? []) if (tg.expr) out.push({ where: `${f}: ${p.title}`, expr: tg.expr });
    }
    for (const v of d.templating?.list ?? []) {
      const q = typeof v.query === "string" ? v.query : v.query?.query;
      if (q && /\(/.test(q)) out.push({ where: `${f}: $${v.name}`, expr: q });
    }
  }
  return out;
}

/** Every alert expression of the PrometheusRule, as the chart renders it with the default thresholds. */
export function alertQueries(): { where: string; expr: string }[] {
  const r = spawnSync(
    toolPaths().helm,
    [
      "template",
      "vault-secrets-operator",
      CHART,
      "--set",
      "telemetry.prometheusRule.enabled=true",
      "--show-only",
      "templates/prometheusrule.yaml",
    ],
    { encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`helm template failed: ${r.stderr}`);
  const doc = parse(r.stdout) as { spec?: { groups?: { rules?: { alert?: string; expr?: string }[] }[] } };
  return (doc.spec?.groups ?? []).flatMap((g) =>
    (g.rules ?? []).map((rule) => ({ where: `alert ${rule.alert}`, expr: String(rule.expr ?? "") })),
  );
}

const PROMQL_WORDS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "count",
  "by",
  "without",
  "rate",
  "irate",
  "increase",
  "delta",
  "time",
  "histogram_quantile",
  "le",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "bool",
  "topk",
  "bottomk",
  "label_values",
  "clamp_min",
  "clamp_max",
  "abs",
  "absent",
  "vector",
  "offset",
  "changes",
  "resets",
  "max_over_time",
  "min_over_time",
  "avg_over_time",
  "label_replace",
  "sort_desc",
  "sort",
  "scalar",
  "timestamp",
  "count_over_time",
]);

/** The metric names in a PromQL expression: identifiers that are not functions, keywords or label names. */
export function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const noLabels = noStrings
    .replace(/\{[^}]*\}/g, "")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, "");
  const noRanges = noLabels.replace(/\[[^\]]*\]/g, "");
  const names = [...noRanges.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)]
    .map((m) => m[0])
    .filter((n) => !PROMQL_WORDS.has(n) && !/^\d/.test(n) && n !== "e");
  return [...new Set(names.filter((n) => n.includes("_")))];
}

export function dashboardMetricNames(): string[] {
  return [...new Set([...dashboardQueries(), ...alertQueries()].flatMap((q) => metricNames(q.expr)))].sort();
}
