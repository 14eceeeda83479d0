// The chart's Grafana dashboard and PrometheusRule: every metric their queries
// name is one the operator registers (src/operator/metrics.ts), the query
// reader finds the names it should, and the chart renders both objects only
// when asked, the dashboard byte for byte and the alerts with the values' thresholds.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { toolPaths } from "../../src/dev/paths.ts";
import { parseOperatorConfig } from "../../src/operator/config.ts";
import { OperatorMetrics } from "../../src/operator/metrics.ts";
import {
  alertQueries,
  CHART,
  DASHBOARD_DIR,
  dashboardMetricNames,
  dashboardQueries,
  metricNames,
} from "../support/dashboard.ts";

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are walked freely in assertions
type Obj = Record<string, any>;

async function registeredNames(): Promise<Set<string>> {
  const m = new OperatorMetrics(parseOperatorConfig([], {}));
  const names = new Set<string>();
  for (const metric of await m.registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === "histogram")
      for (const s of ["_bucket", "_sum", "_count"]) names.add(metric.name + s);
  }
  return names;
}

function render(set: string[]): Obj[] {
  const r = spawnSync(
    toolPaths().helm,
    ["template", "vault-secrets-operator", CHART, "--namespace", "vso", ...set.flatMap((s) => ["--set", s])],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  return parseAllDocuments(r.stdout)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

describe("dashboard and alerts", () => {
  it("reads metric names out of PromQL, leaving functions, keywords, labels and ranges", () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.99, sum by (controller, le) (rate(controller_runtime_reconcile_time_seconds_bucket{namespace=~"$namespace"}[5m])))',
      ),
      ["controller_runtime_reconcile_time_seconds_bucket"],
    );
    assert.deepEqual(
      metricNames(
        "(vso_lease_expiration_timestamp_seconds - time()) < 300 and changes(vso_leases_held[10m]) == 0",
      ),
      ["vso_lease_expiration_timestamp_seconds", "vso_leases_held"],
    );
  });

  it("every metric a dashboard panel or alert queries is registered by the operator", async () => {
    const registered = await registeredNames();
    const queries = [...dashboardQueries(), ...alertQueries()];
    assert.ok(queries.length >= 20, `only ${queries.length} queries found`);
    assert.equal(alertQueries().length, 3);
    const unknown = queries.flatMap((q) =>
      metricNames(q.expr)
        .filter((n) => !registered.has(n))
        .map((n) => `${q.where}: ${n}`),
    );
    assert.deepEqual(unknown, []);
    // The areas the dashboard covers, each by its metric.
    const used = dashboardMetricNames();
    for (const m of [
      "controller_resource_status",
      "controller_runtime_reconcile_errors_total",
      "vso_lease_expiration_timestamp_seconds",
      "vso_lease_renewals_total",
      "vso_rollout_restarts_total",
      "workqueue_depth",
      "controller_runtime_reconcile_time_seconds_bucket",
      "vso_client_operations_total",
      "vso_client_operations_time_seconds_bucket",
    ]) {
      assert.ok(used.includes(m), `the dashboard does not show ${m}`);
    }
  });

  it("docs/operator.md lists exactly the metrics the operator registers (Node's own aside)", async () => {
    const doc = readFileSync(join(import.meta.dirname, "..", "..", "docs", "operator.md"), "utf8");
    const section = doc.slice(doc.indexOf("## Metrics"), doc.indexOf("## Behaviour worth knowing"));
    const documented = new Set(
      [...section.matchAll(/`((?:controller_|workqueue_|vso_)[a-z_]+)`/g)].map((m) => m[1]),
    );
    const registered = new Set(
      [...(await registeredNames())].filter(
        (n) => !/^(process_|nodejs_)/.test(n) && !/_(bucket|sum|count)$/.test(n),
      ),
    );
    assert.deepEqual(
      [...documented].filter((n) => !registered.has(n)).sort(),
      [],
      "documented, not registered",
    );
    assert.deepEqual(
      [...registered].filter((n) => !documented.has(n)).sort(),
      [],
      "registered, not documented",
    );
  });

  it("the dashboard is well formed: unique panel ids, every target on the datasource variable", () => {
    const d = JSON.parse(readFileSync(join(DASHBOARD_DIR, "vso-ts-operator.json"), "utf8")) as {
      uid: string;
      panels: { id: number; type: string; datasource?: { uid: string }; targets?: { refId: string }[] }[];
      templating: { list: { name: string }[] };
    };
    assert.equal(d.uid, "vso-ts-operator");
    const ids = d.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual(
      d.templating.list.map((v) => v.name),
      ["datasource", "namespace"],
    );
    for (const p of d.panels.filter((x) => x.type !== "row")) {
      assert.match(p.datasource?.uid ?? "", /^\$\{datasource\}$/);
      assert.ok((p.targets ?? []).length > 0);
    }
  });

  it("the chart renders the dashboard ConfigMap and the PrometheusRule only when enabled", () => {
    const none = render([]);
    assert.ok(!none.some((o) => o.kind === "PrometheusRule"));
    assert.ok(!none.some((o) => o.kind === "ConfigMap" && o.metadata.name.endsWith("-dashboards")));
    const all = render([
      "telemetry.grafanaDashboard.enabled=true",
      "telemetry.grafanaDashboard.namespace=monitoring",
      "telemetry.prometheusRule.enabled=true",
      "telemetry.prometheusRule.labels.release=prom",
      "telemetry.prometheusRule.notReadyFor=30m",
      "telemetry.prometheusRule.leaseExpirySeconds=120",
    ]);
    const cm = all.find(
      (o) => o.kind === "ConfigMap" && o.metadata.name === "vault-secrets-operator-dashboards",
    );
    assert.ok(cm);
    assert.equal(cm.metadata.namespace, "monitoring");
    assert.equal(cm.metadata.labels.grafana_dashboard, "1");
    assert.equal(
      cm.data["vso-ts-operator.json"],
      readFileSync(join(DASHBOARD_DIR, "vso-ts-operator.json"), "utf8"),
    );
    const rule = all.find((o) => o.kind === "PrometheusRule");
    assert.ok(rule);
    assert.equal(rule.metadata.labels.release, "prom");
    const rules = rule.spec.groups[0].rules as { alert: string; expr: string; for: string }[];
    assert.deepEqual(
      rules.map((r) => r.alert),
      [
        "VaultSecretsOperatorResourceNotReady",
        "VaultSecretsOperatorLeaseExpiringWithoutRenewal",
        "VaultSecretsOperatorVaultUnreachable",
      ],
    );
    assert.equal(rules[0].for, "30m");
    assert.match(rules[1].expr, /< 120 and/);
  });

  it("the values schema refuses a malformed alert duration", () => {
    const r = spawnSync(
      toolPaths().helm,
      ["template", "x", CHART, "--set", "telemetry.prometheusRule.notReadyFor=ten minutes"],
      { encoding: "utf8" },
    );
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /notReadyFor/);
  });
});
