// Runs the operator in the test process against the shared environment,
// limited to the test's namespaces, and stops it when the test ends.
import type { TestContext } from "node:test";
import { pino } from "pino";
import { CORE } from "../../src/kube/client.ts";
import { parseOperatorConfig } from "../../src/operator/config.ts";
import { type ManagerHandle, startManager } from "../../src/operator/manager.ts";
import { VSO } from "../../src/operator/resources.ts";
import { eventually, type TestEnv } from "./env.ts";

export interface OperatorOptions {
  /** Namespaces to watch; the first one doubles as the operator namespace unless operatorNamespace is set. */
  namespaces: string[];
  operatorNamespace?: string;
  args?: string[];
}

export async function startOperator(
  t: TestContext,
  env: TestEnv,
  opts: OperatorOptions,
): Promise<ManagerHandle> {
  const cfg = parseOperatorConfig([
    `--kubeconfig=${env.state.kubeconfig}`,
    `--operator-namespace=${opts.operatorNamespace ?? opts.namespaces[0]}`,
    `--watch-namespaces=${opts.namespaces.join(",")}`,
    "--leader-elect=false",
    "--metrics-bind-address=127.0.0.1:0",
    "--health-probe-bind-address=0",
    "--backoff-initial-interval=500ms",
    "--backoff-max-interval=3s",
    ...(opts.args ?? []),
  ]);
  const log = pino({ level: process.env.VSO_TEST_LOG ?? "warn" });
  const mgr = await startManager(cfg, { log });
  t.after(() => mgr.stop());
  return mgr;
}

/** Creates a Vault policy and a Kubernetes auth role for service account `sa` in `ns`, reading secret/<ns>/*. */
export async function vaultRoleFor(env: TestEnv, ns: string, sa = "app", extraPolicy = ""): Promise<string> {
  const role = `role-${ns}`;
  await env.vault.call("PUT", `sys/policies/acl/${role}`, {
    token: env.rootToken,
    body: {
      policy: [
        `path "secret/data/${ns}/*" { capabilities = ["read"] }`,
        `path "kvv1/${ns}/*" { capabilities = ["read"] }`,
        extraPolicy,
      ].join("\n"),
    },
  });
  await env.vault.call("POST", `auth/kubernetes/role/${role}`, {
    token: env.rootToken,
    body: {
      bound_service_account_names: [sa],
      bound_service_account_namespaces: [ns],
      policies: [role],
      ttl: "1h",
    },
  });
  await env.kube.create(CORE.serviceaccounts, ns, { metadata: { name: sa } }).catch(() => {});
  return role;
}

/** VaultConnection `default` and VaultAuth `default` in the namespace (the operator namespace in these tests). */
export async function defaultConnectionAndAuth(
  env: TestEnv,
  ns: string,
  role: string,
  sa = "app",
): Promise<void> {
  await env.kube.create(VSO.VaultConnection, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultConnection",
    metadata: { name: "default" },
    spec: { address: env.state.vault.address },
  });
  await env.kube.create(VSO.VaultAuth, ns, {
    apiVersion: "secrets.hashicorp.com/v1beta1",
    kind: "VaultAuth",
    metadata: { name: "default" },
    spec: { method: "kubernetes", mount: "kubernetes", kubernetes: { role, serviceAccount: sa } },
  });
}

export async function kvPut(env: TestEnv, path: string, data: Record<string, unknown>): Promise<void> {
  await env.vault.call("POST", `secret/data/${path}`, { token: env.rootToken, body: { data } });
}

export interface SecretLike {
  metadata: {
    resourceVersion?: string;
    labels?: Record<string, string>;
    ownerReferences?: unknown[];
    uid?: string;
  };
  type?: string;
  data?: Record<string, string>;
}

export function decoded(s: SecretLike | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s?.data ?? {})) out[k] = Buffer.from(v, "base64").toString("utf8");
  return out;
}

export async function waitForSecret(
  env: TestEnv,
  ns: string,
  name: string,
  pred: (s: SecretLike) => boolean = () => true,
  timeoutMs = 20_000,
): Promise<SecretLike> {
  return await eventually(
    `Secret ${ns}/${name}`,
    async () => {
      const s = await env.kube.getOrNull<SecretLike & { metadata: { name?: string } }>(
        CORE.secrets,
        ns,
        name,
      );
      return s && pred(s) ? s : null;
    },
    timeoutMs,
  );
}

export async function getStatus(env: TestEnv, rt: keyof typeof VSO, ns: string, name: string) {
  const o = (await env.kube.get(VSO[rt], ns, name)) as unknown as {
    status?: {
      conditions?: { type: string; status: string; reason: string; message: string }[];
      [k: string]: unknown;
    };
  };
  return o.status ?? {};
}

/**
 * Writes into a resource's status what a crash leaves behind: `issued`, a
 * credential obtained but never committed (due now), and `replaced`, one
 * replaced long before its revocation time (due in an hour).
 */
export async function plantPendingRevocations(
  env: TestEnv,
  rt: keyof typeof VSO,
  ns: string,
  name: string,
  issued: string,
  replaced: string,
): Promise<void> {
  const nowS = Math.floor(Date.now() / 1000);
  await env.kube.patch(
    VSO[rt],
    ns,
    name,
    {
      status: {
        pendingRevocations: [
          { id: issued, reason: "Issued", revokeAfter: nowS },
          { id: replaced, reason: "Replaced", revokeAfter: nowS + 3600 },
        ],
      },
    },
    "merge",
    { subresource: "status" },
  );
}

export async function waitForCondition(
  env: TestEnv,
  rt: keyof typeof VSO,
  ns: string,
  name: string,
  type: string,
  status: "True" | "False",
  messageMatch?: RegExp,
  timeoutMs = 20_000,
) {
  return await eventually(
    `${rt} ${ns}/${name} condition ${type}=${status}`,
    async () => {
      const st = await getStatus(env, rt, ns, name);
      const c = st.conditions?.find((x) => x.type === type);
      return c && c.status === status && (!messageMatch || messageMatch.test(c.message)) ? c : null;
    },
    timeoutMs,
  );
}

export async function eventsFor(env: TestEnv, ns: string, name: string) {
  const list = await env.kube.list<{
    metadata: { name?: string };
    reason?: string;
    message?: string;
    type?: string;
    involvedObject?: { name?: string };
  }>(CORE.events, ns);
  return list.items.filter((e) => e.involvedObject?.name === name);
}
