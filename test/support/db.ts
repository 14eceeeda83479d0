// Database engine fixtures for dynamic-secret tests: a PostgreSQL connection
// and role per test namespace, a Kubernetes auth role for service account
// `app`, and helpers to count leases and run the operator as a process.
import { type ChildProcess, type StdioOptions, spawn } from "node:child_process";
import { join } from "node:path";
import { REPO_ROOT } from "../../src/dev/paths.ts";
import { DB_CREATION_STATEMENTS } from "../../src/dev/playground-config.ts";
import { CORE } from "../../src/kube/client.ts";
import type { TestEnv } from "./env.ts";
import { defaultConnectionAndAuth } from "./operator.ts";

/** The Kubernetes auth role's token TTLs (default 1h, no max of its own). */
export interface TokenTtls {
  tokenTtl?: string;
  tokenMaxTtl?: string;
}

export async function dbSetup(env: TestEnv, ns: string, ttl: string, maxTtl: string, tokens: TokenTtls = {}) {
  const conn = `pg-${ns}`;
  const role = `dyn-${ns}`;
  const t = { token: env.rootToken };
  await env.vault.call("POST", `database/config/${conn}`, {
    ...t,
    body: {
      plugin_name: "postgresql-database-plugin",
      allowed_roles: ["*"],
      connection_url: `postgresql://{{username}}:{{password}}@${env.state.postgres.host}:${env.state.postgres.port}/mydb?sslmode=disable`,
      username: "vaultadmin",
      password: "vaultpassword",
      verify_connection: true,
    },
  });
  await env.vault.call("POST", `database/roles/${role}`, {
    ...t,
    body: { db_name: conn, creation_statements: DB_CREATION_STATEMENTS, default_ttl: ttl, max_ttl: maxTtl },
  });
  const policy = `db-${ns}`;
  await env.vault.call("PUT", `sys/policies/acl/${policy}`, {
    ...t,
    body: {
      policy: [
        `path "database/creds/${role}" { capabilities = ["read"] }`,
        `path "database/static-creds/*" { capabilities = ["read"] }`,
        'path "sys/leases/renew" { capabilities = ["update"] }',
        'path "sys/leases/revoke" { capabilities = ["update"] }',
      ].join("\n"),
    },
  });
  await env.vault.call("POST", `auth/kubernetes/role/${policy}`, {
    ...t,
    body: {
      bound_service_account_names: ["app"],
      bound_service_account_namespaces: [ns],
      policies: [policy],
      ttl: tokens.tokenTtl ?? "1h",
      ...(tokens.tokenMaxTtl ? { max_ttl: tokens.tokenMaxTtl } : {}),
    },
  });
  await env.kube.create(CORE.serviceaccounts, ns, { metadata: { name: "app" } });
  await defaultConnectionAndAuth(env, ns, policy);
  return { conn, role, policy };
}

export function vds(name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultDynamicSecret",
    metadata: { name },
    spec: { mount: "database", destination: { name, create: true }, ...spec },
  };
}

export async function leaseCount(env: TestEnv, role: string): Promise<number> {
  const res = await env.vault.call<{ data?: { keys?: string[] } }>(
    "LIST",
    `sys/leases/lookup/database/creds/${role}`,
    {
      token: env.rootToken,
      accept: [404],
    },
  );
  return res.json?.data?.keys?.length ?? 0;
}

/** `vso run` as a process limited to `ns`; stdout is ignored unless `stdio` asks for it (e.g. to read the log). */
export function spawnOperator(
  env: TestEnv,
  ns: string,
  extraArgs: string[] = [],
  extraEnv: NodeJS.ProcessEnv = {},
  // VSO_TEST_OPERATOR_LOG=1 shows the operator's own log beside the test's output (for debugging).
  stdio: StdioOptions = process.env.VSO_TEST_OPERATOR_LOG
    ? ["ignore", "inherit", "inherit"]
    : ["ignore", "ignore", "inherit"],
): ChildProcess {
  const child = spawn(
    process.execPath,
    [
      "--disable-warning=ExperimentalWarning",
      join(REPO_ROOT, "src/cli/main.ts"),
      "run",
      `--kubeconfig=${env.state.kubeconfig}`,
      `--operator-namespace=${ns}`,
      `--watch-namespaces=${ns}`,
      "--metrics-bind-address=0",
      "--health-probe-bind-address=0",
      ...(extraArgs.some((a) => a.startsWith("--leader-elect"))
        ? extraArgs
        : ["--leader-elect=false", ...extraArgs]),
    ],
    {
      stdio,
      env: { ...process.env, OPERATOR_POD_UID: `pod-${Date.now()}`, ...extraEnv },
    },
  );
  return child;
}

export async function restartStamp(env: TestEnv, ns: string) {
  const d = (await env.kube.get(CORE.deployments, ns, "web")) as unknown as {
    spec: { template: { metadata?: { annotations?: Record<string, string> } } };
  };
  return d.spec.template.metadata?.annotations?.["vso.secrets.hashicorp.com/restartedAt"];
}
