// `vso doctor` against the real API server, OpenBao and PostgreSQL: eight
// broken links of the walkthrough's chain, each named as the broken step with
// its fix (no operator needed: the doctor talks to Vault and the API server
// itself); the healthy walkthrough with one operator process, where every
// step passes, also through `kubectl vso doctor`; the operator checks; the
// operator's log lines for a sync; and the dashboard's metrics in a real scrape.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import { REPO_ROOT, toolPaths } from "../../src/dev/paths.ts";
import { DB_CREATION_STATEMENTS } from "../../src/dev/playground-config.ts";
import { doctorResource } from "../../src/doctor/doctor.ts";
import { doctorOperator } from "../../src/doctor/operator.ts";
import { fetchMetricsText, scrape } from "../../src/doctor/prom-text.ts";
import type { Report, Step } from "../../src/doctor/report.ts";
import type { DoctorOptions, SecretKind } from "../../src/doctor/session.ts";
import { CORE } from "../../src/kube/client.ts";
import { VSO } from "../../src/operator/resources.ts";
import { dashboardMetricNames } from "../support/dashboard.ts";
import { dbSetup, spawnOperator, vds } from "../support/db.ts";
import { eventually, isolatedNamespace, type TestEnv, testEnv } from "../support/env.ts";
import { kubectl } from "../support/kubectl.ts";
import { defaultConnectionAndAuth, kvPut, vaultRoleFor, waitForCondition } from "../support/operator.ts";

const execFileP = promisify(execFile);
const API = "secrets.hashicorp.com/v1beta1";

function options(env: TestEnv, operatorNamespace: string, extra: Partial<DoctorOptions> = {}): DoctorOptions {
  return {
    kube: env.kube,
    operatorNamespace,
    allowDefaultGlobals: true,
    issue: false,
    timeoutMs: 5000,
    leaderElectionId: "b0d477c0.hashicorp.com",
    ...extra,
  };
}

function vss(name: string, path: string, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: API,
    kind: "VaultStaticSecret",
    metadata: { name },
    spec: {
      mount: "secret",
      type: "kv-v2",
      path,
      destination: { name: `${name}-dest`, create: true },
      ...extra,
    },
  };
}

function show(r: Report): string {
  return r.steps
    .map((s) => `${s.status} ${s.id}: ${s.detail}${s.fix ? `\n   fix: ${s.fix}` : ""}`)
    .join("\n");
}

/** The first failing step is `id` (every step before it passed or only warned), and its fix says `fix`. */
function assertBrokenAt(r: Report, id: string, fix: RegExp): Step {
  const failed = r.steps.filter((s) => s.status === "fail");
  assert.ok(failed.length > 0, `expected a failure at ${id}:\n${show(r)}`);
  assert.equal(failed[0].id, id, `first failing step:\n${show(r)}`);
  assert.match(failed[0].fix ?? "", fix, show(r));
  return failed[0];
}

/** A namespace set up like the walkthrough for a VaultStaticSecret: SA app, role, policy, KV secret, default connection and auth. */
async function kvCase(t: TestContext, env: TestEnv, prefix: string) {
  const ns = await isolatedNamespace(t, env, prefix);
  const role = await vaultRoleFor(env, ns);
  await kvPut(env, `${ns}/db`, { username: "app", password: "doctor-canary-value" });
  await defaultConnectionAndAuth(env, ns, role);
  return { ns, role };
}

async function doctorVss(env: TestEnv, ns: string, name: string, spec: ReturnType<typeof vss>, opNs = ns) {
  await env.kube.create(VSO.VaultStaticSecret, ns, spec);
  return await doctorResource(options(env, opNs), "VaultStaticSecret", ns, name);
}

async function patchAuth(env: TestEnv, ns: string, kubernetes: Record<string, unknown>) {
  await env.kube.patch(VSO.VaultAuth, ns, "default", { spec: { kubernetes } }, "merge");
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A database connection and role for `ns`, the role allowed on the connection (or not), and a policy for it. */
async function dbCase(env: TestEnv, ns: string, allowedRoles: string[]) {
  const t = { token: env.rootToken };
  const conn = `pg-${ns}`;
  const role = `dyn-${ns}`;
  await env.vault.call("POST", `database/config/${conn}`, {
    ...t,
    body: {
      plugin_name: "postgresql-database-plugin",
      allowed_roles: allowedRoles.length > 0 ? allowedRoles : [role],
      connection_url: `postgresql://{{username}}:{{password}}@${env.state.postgres.host}:${env.state.postgres.port}/mydb?sslmode=disable`,
      username: "vaultadmin",
      password: "vaultpassword",
    },
  });
  await env.vault.call("POST", `database/roles/${role}`, {
    ...t,
    body: { db_name: conn, creation_statements: DB_CREATION_STATEMENTS, default_ttl: "1h", max_ttl: "2h" },
  });
  // The walkthrough's policy plus reading its own role and connection, so the doctor can check them.
  const extra = [
    `path "database/creds/${role}" { capabilities = ["read"] }`,
    'path "sys/leases/renew" { capabilities = ["update"] }',
    'path "sys/leases/revoke" { capabilities = ["update"] }',
    `path "database/roles/${role}" { capabilities = ["read"] }`,
    `path "database/config/${conn}" { capabilities = ["read"] }`,
  ].join("\n");
  return { conn, role, extra };
}

/** The chart's ServiceAccount, ClusterRoles, Roles and bindings, rendered for `ns` and applied (removed at the end). */
async function applyChartRbac(t: TestContext, env: TestEnv, ns: string) {
  const rendered = spawnSync(
    toolPaths().helm,
    [
      "template",
      `doc-${ns.slice(-8)}`,
      join(REPO_ROOT, "deploy/chart/vault-secrets-operator"),
      "--namespace",
      ns,
    ],
    { encoding: "utf8" },
  );
  assert.equal(rendered.status, 0, rendered.stderr);
  const docs = parseAllDocuments(rendered.stdout)
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string } } | null)
    .filter((o): o is { kind: string; metadata: { name: string } } =>
      ["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"].includes(o?.kind ?? ""),
    );
  const manifest = docs.map((o) => JSON.stringify(o)).join("\n---\n");
  const applied = await kubectl(env, ["apply", "-f", "-"], manifest);
  assert.equal(applied.code, 0, applied.stderr);
  t.after(() => kubectl(env, ["delete", "--ignore-not-found", "-f", "-"], manifest));
  const name = (kind: string, suffix = "") =>
    docs.find((o) => o.kind === kind && o.metadata.name.endsWith(suffix))?.metadata.name ?? "";
  return { serviceAccount: name("ServiceAccount"), metricsReader: name("ClusterRole", "-metrics-reader") };
}

/** A token of service account `scraper` in `ns`, bound to the metrics-reader ClusterRole. */
async function scraperToken(t: TestContext, env: TestEnv, ns: string, clusterRole: string): Promise<string> {
  await env.kube.create(CORE.serviceaccounts, ns, { metadata: { name: "scraper" } });
  const binding = {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: "ClusterRoleBinding",
    metadata: { name: `${ns}-scraper` },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: clusterRole },
    subjects: [{ kind: "ServiceAccount", name: "scraper", namespace: ns }],
  };
  await env.kube.create(CORE.clusterrolebindings, undefined, binding);
  t.after(() => env.kube.delete(CORE.clusterrolebindings, undefined, binding.metadata.name).catch(() => {}));
  const res = (await env.kube.raw("POST", env.kube.path(CORE.serviceaccounts, ns, "scraper", "token"), {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: { expirationSeconds: 3600 },
  })) as { status: { token: string } };
  return res.status.token;
}

test("vso doctor names the broken link of the chain and its fix", async (t) => {
  const env = await testEnv();

  await t.test("wrong role", async (t) => {
    const { ns } = await kvCase(t, env, "doc-role");
    await patchAuth(env, ns, { role: "no-such-role" });
    const r = await doctorVss(env, ns, "s", vss("s", `${ns}/db`));
    const step = assertBrokenAt(
      r,
      "vault-login",
      /role "no-such-role" does not exist.*spec\.kubernetes\.role/s,
    );
    assert.match(step.detail, /invalid role name/);
  });

  await t.test("role not bound to the service account's namespace", async (t) => {
    const { ns, role } = await kvCase(t, env, "doc-bind");
    await env.vault.call("POST", `auth/kubernetes/role/${role}`, {
      token: env.rootToken,
      body: { bound_service_account_names: ["app"], bound_service_account_namespaces: ["elsewhere"] },
    });
    const r = await doctorVss(env, ns, "s", vss("s", `${ns}/db`));
    assertBrokenAt(
      r,
      "vault-login",
      new RegExp(`add "${ns}" to bound_service_account_namespaces of auth/kubernetes/role/${role}`),
    );
  });

  await t.test("missing policy line", async (t) => {
    const { ns, role } = await kvCase(t, env, "doc-pol");
    await env.vault.call("PUT", `sys/policies/acl/${role}`, {
      token: env.rootToken,
      body: { policy: 'path "secret/data/unrelated/*" { capabilities = ["read"] }' },
    });
    const r = await doctorVss(env, ns, "s", vss("s", `${ns}/db`));
    const step = assertBrokenAt(
      r,
      "policy",
      new RegExp(
        `one of the token's policies \\(${role}\\)[\\s\\S]*path "secret/data/${ns}/db" \\{\\n  capabilities = \\["read"\\]\\n\\}`,
      ),
    );
    assert.match(step.detail, /lacks read on secret\/data\/.*\/db/);
  });

  await t.test("wrong KV path", async (t) => {
    const { ns } = await kvCase(t, env, "doc-path");
    const r = await doctorVss(env, ns, "s", vss("s", `${ns}/dbb`));
    const step = assertBrokenAt(r, "read", /fix spec\.path \(now ".*\/dbb"\)/);
    assert.match(step.detail, /no secret at secret\/data\/.*\/dbb/);
    assert.ok(
      r.steps.every(
        (s) => !s.detail.includes("doctor-canary-value") && !s.fix?.includes("doctor-canary-value"),
      ),
    );
  });

  await t.test("Vault unreachable", async (t) => {
    const { ns } = await kvCase(t, env, "doc-down");
    await env.kube.patch(
      VSO.VaultConnection,
      ns,
      "default",
      { spec: { address: "http://127.0.0.1:1" } },
      "merge",
    );
    const r = await doctorVss(env, ns, "s", vss("s", `${ns}/db`));
    const step = assertBrokenAt(r, "vault-reachable", /check spec\.address of VaultConnection .*\/default/);
    assert.match(step.detail, /ECONNREFUSED/);
    assert.equal(r.steps.find((s) => s.id === "vault-login")?.status, "skip");
  });

  await t.test(
    "a hostile spec: caCertPath naming a local file is never read, its address never contacted",
    async (t) => {
      const { ns } = await kvCase(t, env, "doc-hostile");
      let connections = 0;
      const listener = createServer((sock) => {
        connections++;
        sock.destroy();
      });
      await new Promise<void>((r) => listener.listen(0, "127.0.0.1", r));
      t.after(() => listener.close());
      const port = (listener.address() as { port: number }).port;
      // The admin runs the doctor on a laptop: the tenant names a file of it and an address of theirs.
      await env.kube.patch(
        VSO.VaultConnection,
        ns,
        "default",
        { spec: { address: `https://127.0.0.1:${port}`, caCertPath: "/etc/hostname" } },
        "merge",
      );
      const r = await doctorVss(env, ns, "s", vss("s", `${ns}/db`));
      const step = r.steps.find((x) => x.id === "vault-reachable");
      assert.equal(step?.status, "warn", show(r));
      assert.match(step?.detail ?? "", /not read here/);
      assert.equal(r.steps.find((x) => x.id === "vault-login")?.status, "skip", show(r));
      assert.equal(connections, 0, "nothing was sent to the tenant's address");
    },
  );

  await t.test("service account missing", async (t) => {
    const { ns } = await kvCase(t, env, "doc-sa");
    await patchAuth(env, ns, { serviceAccount: "ghost" });
    const r = await doctorVss(env, ns, "s", vss("s", `${ns}/db`));
    assertBrokenAt(r, "service-account", new RegExp(`kubectl create serviceaccount ghost -n ${ns}`));
  });

  await t.test("namespace not allowed by allowedNamespaces", async (t) => {
    const { ns } = await kvCase(t, env, "doc-allow");
    const opNs = await isolatedNamespace(t, env, "doc-allow-op");
    await env.kube.create(VSO.VaultAuth, opNs, {
      apiVersion: API,
      kind: "VaultAuth",
      metadata: { name: "shared" },
      spec: {
        method: "kubernetes",
        mount: "kubernetes",
        allowedNamespaces: ["someone-else"],
        kubernetes: { role: "x", serviceAccount: "app" },
      },
    });
    const r = await doctorVss(env, ns, "s", vss("s", `${ns}/db`, { vaultAuthRef: `${opNs}/shared` }), opNs);
    const step = assertBrokenAt(
      r,
      "vault-auth",
      new RegExp(`add "${ns}" to spec.allowedNamespaces of VaultAuth ${opNs}/shared`),
    );
    assert.match(step.detail, /does not allow namespace/);
  });

  await t.test("database role not in the connection's allowed_roles", async (t) => {
    const ns = await isolatedNamespace(t, env, "doc-db");
    const { conn, role, extra } = await dbCase(env, ns, ["other"]);
    const vaultRole = await vaultRoleFor(env, ns, "app", extra);
    await defaultConnectionAndAuth(env, ns, vaultRole);
    await env.kube.create(VSO.VaultDynamicSecret, ns, {
      apiVersion: API,
      kind: "VaultDynamicSecret",
      metadata: { name: "d" },
      spec: { mount: "database", path: `creds/${role}`, destination: { name: "d", create: true } },
    });
    const r = await doctorResource(options(env, ns), "VaultDynamicSecret", ns, "d");
    const step = assertBrokenAt(
      r,
      "database-role",
      new RegExp(`vault write database/config/${conn} allowed_roles="other,${role}"`),
    );
    assert.match(step.detail, new RegExp(`not in allowed_roles \\["other"\\] of connection ${conn}`));
    // The fix as printed works: Vault keeps the connection's other settings, and credentials are issued.
    await env.vault.call("POST", `database/config/${conn}`, {
      token: env.rootToken,
      body: { allowed_roles: `other,${role}` },
    });
    const again = await doctorResource(options(env, ns, { issue: true }), "VaultDynamicSecret", ns, "d");
    assert.equal(again.steps.find((s) => s.id === "database-role")?.status, "pass", show(again));
    assert.equal(again.steps.find((s) => s.id === "read")?.status, "pass", show(again));
  });
});

test("vso doctor --issue on a VaultPKISecret issues a certificate with the resource's request and revokes it", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "doc-pki");
  const role = await vaultRoleFor(
    env,
    ns,
    "app",
    'path "pki/issue/default" { capabilities = ["update"] }\npath "pki/revoke" { capabilities = ["update"] }',
  );
  await defaultConnectionAndAuth(env, ns, role);
  await env.kube.create(VSO.VaultPKISecret, ns, {
    apiVersion: API,
    kind: "VaultPKISecret",
    metadata: { name: "cert" },
    spec: {
      mount: "pki",
      role: "default",
      commonName: "app.example.com",
      ttl: "1h",
      revoke: true,
      destination: { name: "tls", create: true, type: "kubernetes.io/tls" },
    },
  });
  const r = await doctorResource(options(env, ns, { issue: true }), "VaultPKISecret", ns, "cert");
  const read = r.steps.find((s) => s.id === "read");
  assert.equal(read?.status, "pass", show(r));
  const serial = /certificate (\S+) revoked/.exec(read?.detail ?? "")?.[1];
  assert.ok(serial, read?.detail);
  const cert = await env.vault.call<{ data?: { revocation_time?: number } }>("GET", `pki/cert/${serial}`, {
    token: env.rootToken,
  });
  assert.ok((cert.json?.data?.revocation_time ?? 0) > 0, "the doctor's certificate is revoked");
  assert.deepEqual(
    r.steps.filter((s) => s.status === "fail"),
    [],
    show(r),
  );
});

test("the healthy walkthrough passes every step; the operator checks; the operator's log and metrics", async (t) => {
  const env = await testEnv();
  const opNs = await isolatedNamespace(t, env, "doc-op");
  const ns = await isolatedNamespace(t, env, "doc-ok");
  // The walkthrough's chain in `ns`: service account, role, policies, KV secret, database role, connection, auth.
  const db = await dbCase(env, ns, []);
  const role = await vaultRoleFor(env, ns, "myapp-sa", db.extra);
  await kvPut(env, `${ns}/database`, { username: "app", password: "doctor-canary-value" });
  await defaultConnectionAndAuth(env, ns, role, "myapp-sa");
  // As in the walkthrough, the VaultAuth names its connection (else the operator namespace's `default` is meant).
  await env.kube.patch(VSO.VaultAuth, ns, "default", { spec: { vaultConnectionRef: "default" } }, "merge");
  await env.kube.create(CORE.deployments, ns, {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "myapp" },
    spec: {
      selector: { matchLabels: { app: "myapp" } },
      template: {
        metadata: { labels: { app: "myapp" } },
        spec: { serviceAccountName: "myapp-sa", containers: [{ name: "app", image: "postgres:15-alpine" }] },
      },
    },
  });
  await env.kube.create(
    VSO.VaultStaticSecret,
    ns,
    vss("myapp-database-secret", `${ns}/database`, {
      vaultAuthRef: "default",
      refreshAfter: "30s",
      destination: { name: "myapp-database", create: true },
      rolloutRestartTargets: [{ kind: "Deployment", name: "myapp" }],
    }),
  );
  await env.kube.create(VSO.VaultDynamicSecret, ns, {
    apiVersion: API,
    kind: "VaultDynamicSecret",
    metadata: { name: "myapp-db-creds" },
    spec: {
      vaultAuthRef: "default",
      mount: "database",
      path: `creds/${db.role}`,
      destination: { name: "myapp-db-dynamic", create: true },
      renewalPercent: 67,
      revoke: true,
      rolloutRestartTargets: [{ kind: "Deployment", name: "myapp" }],
    },
  });

  // The chart's RBAC in the operator namespace, and a scraper allowed /metrics by the chart's metrics-reader role.
  const chart = await applyChartRbac(t, env, opNs);
  const token = await scraperToken(t, env, opNs, chart.metricsReader);

  const port = await freePort();
  const metricsUrl = `https://127.0.0.1:${port}/metrics`;
  const op = spawnOperator(
    env,
    opNs,
    [
      `--watch-namespaces=${opNs},${ns}`,
      `--metrics-bind-address=127.0.0.1:${port}`,
      "--metrics-secure=true",
      "--leader-elect=true",
    ],
    {},
    ["ignore", "pipe", "inherit"],
  );
  const lines: Record<string, unknown>[] = [];
  let buf = "";
  op.stdout?.on("data", (chunk: Buffer) => {
    buf += chunk.toString("utf8");
    const parts = buf.split("\n");
    buf = parts.pop() ?? "";
    for (const l of parts) {
      try {
        lines.push(JSON.parse(l));
      } catch {
        // Not a JSON line: the log test below only reads JSON lines.
      }
    }
  });
  t.after(async () => {
    op.kill("SIGTERM");
    await new Promise((r) => op.once("exit", r));
  });
  await waitForCondition(
    env,
    "VaultStaticSecret",
    ns,
    "myapp-database-secret",
    "Ready",
    "True",
    undefined,
    60_000,
  );
  await waitForCondition(env, "VaultDynamicSecret", ns, "myapp-db-creds", "Ready", "True", undefined, 60_000);
  // The operator's metrics mention the resources once their status is exported.
  await eventually("resource status in the metrics", async () =>
    (await scrape(metricsUrl, token)).some(
      (s) => s.name === "controller_resource_status" && s.labels.name === "myapp-db-creds",
    ),
  );

  await t.test("every step passes for the walkthrough's static and dynamic secrets", async () => {
    // The secure endpoint refuses a scrape without a token; the doctor passes the one it is given.
    await assert.rejects(scrape(metricsUrl), /returned 401/);
    const opts = options(env, opNs, { metricsUrl, metricsToken: token, issue: true });
    for (const [kind, name] of [
      ["VaultStaticSecret", "myapp-database-secret"],
      ["VaultDynamicSecret", "myapp-db-creds"],
    ] as [SecretKind, string][]) {
      const r = await doctorResource(opts, kind, ns, name);
      const notPassed = r.steps.filter((s) => s.status !== "pass");
      assert.deepEqual(notPassed, [], show(r));
      const ids = r.steps.map((s) => s.id);
      for (const id of ["resource", "vault-auth", "vault-connection", "vault-reachable", "service-account"]) {
        assert.ok(ids.includes(id), `${id} in ${ids}`);
      }
      for (const id of [
        "token-request",
        "vault-login",
        "policy",
        "read",
        "destination",
        "rollout-targets",
        "events",
        "metrics",
      ]) {
        assert.ok(ids.includes(id), `${id} in ${ids}`);
      }
      if (kind === "VaultDynamicSecret") {
        assert.ok(ids.includes("database-role"));
        assert.match(r.steps.find((s) => s.id === "metrics")?.detail ?? "", /lease expires in \d+s/);
      }
      assert.ok(!JSON.stringify(r).includes("doctor-canary-value"), "no secret value in the report");
    }
  });

  await t.test(
    "kubectl vso doctor -o json: the plugin finds the kind, prints JSON, exits 1 on a failure",
    async () => {
      await env.kube.create(
        VSO.VaultStaticSecret,
        ns,
        vss("typo", `${ns}/databse`, { vaultAuthRef: "default" }),
      );
      const res = await execFileP(
        toolPaths().kubectl,
        ["vso", "doctor", "typo", "-n", ns, `--operator-namespace=${opNs}`, "-o", "json"],
        {
          env: {
            ...process.env,
            PATH: [join(REPO_ROOT, "bin"), process.env.PATH].join(":"),
            KUBECONFIG: env.state.kubeconfig,
          },
        },
      ).then(
        (r) => ({ code: 0, stdout: r.stdout }),
        (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
      );
      assert.equal(res.code, 1, res.stdout);
      const out = JSON.parse(res.stdout) as { target: string; ok: boolean; steps: Step[] };
      assert.equal(out.target, `VaultStaticSecret ${ns}/typo`);
      assert.equal(out.ok, false);
      // The operator may already have reported the failure on the resource; the first broken link is the read.
      const failed = out.steps.filter((s) => s.status === "fail").map((s) => s.id);
      assert.equal(failed.filter((id) => id !== "resource")[0], "read", res.stdout);
      await env.kube.delete(VSO.VaultStaticSecret, ns, "typo");
    },
  );

  await t.test("vso doctor without a resource: leader, CRDs, RBAC, and the resources not Ready", async () => {
    const all = await doctorOperator(options(env, opNs), { namespace: ns });
    const step = (id: string) => all.steps.find((s) => s.id === id);
    assert.equal(step("leader")?.status, "pass", show(all));
    assert.equal(step("crds")?.status, "pass", show(all));
    // The operator runs as a process here, not as a Deployment, so its service account is unknown.
    assert.equal(step("operator-running")?.status, "warn", show(all));
    assert.equal(step("rbac")?.status, "skip", show(all));
    await eventually("both resources Ready in the listing", async () => {
      const r = await doctorOperator(options(env, opNs), { namespace: ns });
      return r.steps.find((s) => s.id === "not-ready" && s.status === "pass");
    });
    // RBAC through SubjectAccessReviews: the chart's own roles (applied above), bound to its service
    // account, give every permission the doctor checks for; a service account with none fails the check.
    const granted = await doctorOperator(options(env, opNs), {
      namespace: ns,
      serviceAccount: chart.serviceAccount,
    });
    assert.equal(granted.steps.find((s) => s.id === "rbac")?.status, "pass", show(granted));
    await env.kube.create(CORE.serviceaccounts, opNs, { metadata: { name: "powerless" } });
    const rbac = await doctorOperator(options(env, opNs), { namespace: ns, serviceAccount: "powerless" });
    const r = rbac.steps.find((s) => s.id === "rbac");
    assert.equal(r?.status, "fail", show(rbac));
    assert.match(r?.detail ?? "", /may not: get secrets, list secrets/);
  });

  await t.test("a failing sync logs an error line naming the resource and the reason", async () => {
    await env.kube.create(
      VSO.VaultStaticSecret,
      ns,
      vss("broken", `${ns}/missing`, { vaultAuthRef: "default" }),
    );
    await waitForCondition(env, "VaultStaticSecret", ns, "broken", "Ready", "False", undefined, 30_000);
    const failure = await eventually("an error line for the failing sync", async () =>
      lines.find(
        (l) =>
          l.level === "error" &&
          (l.name === "broken" || l.key === `${ns}/broken`) &&
          JSON.stringify(l).includes("404"),
      ),
    );
    assert.equal(failure.controller, "vaultstaticsecret");
    const listed = await doctorOperator(options(env, opNs), { namespace: ns });
    const nr = listed.steps.find((s) => s.id === "not-ready" && s.status === "fail");
    assert.equal(nr?.title, `VaultStaticSecret ${ns}/broken`, show(listed));
    assert.equal(nr?.fix, `vso doctor vaultstaticsecret ${ns}/broken`);
    assert.ok(
      !lines.some((l) => JSON.stringify(l).includes("doctor-canary-value")),
      "no secret value in the log",
    );
  });

  await t.test("every log line about a resource of the sync names it with a reconcile ID", () => {
    const mine = lines.filter((l) => l.namespace === ns && typeof l.name === "string");
    assert.ok(mine.length > 0, `no log line names a resource of ${ns} with namespace and name fields`);
    for (const l of mine) assert.match(String(l.reconcileID), /^[0-9a-f-]{36}$/, JSON.stringify(l));
    assert.ok(
      mine.some((l) => l.name === "broken" && l.level === "error"),
      "the failing sync's error line",
    );
  });

  await t.test(
    "every metric the dashboard and alerts query is in a scrape of the running operator",
    async () => {
      const body = await fetchMetricsText(metricsUrl, token);
      const families = new Set([...body.matchAll(/^# TYPE (\S+) (\S+)/gm)].map((m) => m[1]));
      const exported = (name: string) =>
        families.has(name) || families.has(name.replace(/_(bucket|sum|count)$/, ""));
      const missing = dashboardMetricNames().filter((m) => !exported(m));
      assert.deepEqual(missing, [], `queried but not exported: ${missing.join(", ")}`);
    },
  );
});

test("vso doctor --issue warns when the role's token max TTL is shorter than the lease (issue 18)", async (t) => {
  const env = await testEnv();
  const ns = await isolatedNamespace(t, env, "doc-maxttl");
  const { role } = await dbSetup(env, ns, "10m", "1h", { tokenTtl: "20s", tokenMaxTtl: "60s" });
  await env.kube.create(VSO.VaultDynamicSecret, ns, vds("db", { path: `creds/${role}`, revoke: true }));
  const r = await doctorResource(options(env, ns, { issue: true }), "VaultDynamicSecret", ns, "db");
  const read = r.steps.find((s) => s.id === "read");
  assert.equal(read?.status, "warn", show(r));
  assert.match(
    read?.detail ?? "",
    /a token of this role lives at most \d+s \(its max TTL\), less than the lease's 600s/,
  );
  assert.match(read?.fix ?? "", /raise token_max_ttl of auth\/kubernetes\/role\//);
});
