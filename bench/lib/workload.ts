// The benchmark's workload on a fresh environment: N KV v2 secrets, one Kubernetes auth role
// for the ServiceAccount `bench` of every namespace, the default VaultConnection and VaultAuth
// in the operator namespace, and N VaultStaticSecrets over 10 namespaces. The dynamic kind
// (dynamic-workload.ts) shares the namespaces, the auth role and the connection.
import { randomBytes } from "node:crypto";
import { CORE, type KubeClient } from "../../src/kube/client.ts";
import { API_VERSION, VSO } from "../../src/operator/resources.ts";
import type { VaultHttp } from "../../src/vault/http.ts";

export const OPERATOR_NS = "vso-bench";
export const NAMESPACES = Array.from({ length: 10 }, (_, i) => `bench-${i}`);
export const SA = "bench";
export const ROLE = "bench";

export interface Item {
  namespace: string;
  name: string;
  path: string;
  data: Record<string, string>;
}

export function items(n: number, prefix = "s"): Item[] {
  return Array.from({ length: n }, (_, i) => ({
    namespace: NAMESPACES[i % NAMESPACES.length],
    name: `${prefix}-${i}`,
    path: `bench/${prefix}-${i}`,
    data: { username: `user-${i}`, password: randomBytes(12).toString("hex") },
  }));
}

/** Runs fn over xs with at most `concurrency` in flight. */
export async function pool<T>(xs: T[], concurrency: number, fn: (x: T, i: number) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < xs.length) {
      const i = next++;
      await fn(xs[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, xs.length) }, worker));
}

/** The bench role's Vault policy for the static kind: read the KV secrets. */
export const KV_POLICY = 'path "secret/data/bench/*" { capabilities = ["read"] }';

export async function setupAuth(
  kube: KubeClient,
  vault: VaultHttp,
  rootToken: string,
  policy: string,
): Promise<void> {
  for (const ns of [OPERATOR_NS, ...NAMESPACES]) {
    await kube.createIfAbsent(CORE.namespaces, undefined, { metadata: { name: ns } });
    await kube.createIfAbsent(CORE.serviceaccounts, ns, { metadata: { name: SA } });
  }
  await vault.call("PUT", `sys/policies/acl/${ROLE}`, {
    token: rootToken,
    body: { policy },
  });
  await vault.call("POST", `auth/kubernetes/role/${ROLE}`, {
    token: rootToken,
    body: {
      bound_service_account_names: [SA],
      bound_service_account_namespaces: [OPERATOR_NS, ...NAMESPACES],
      policies: [ROLE],
      ttl: "1h",
    },
  });
}

/** The default VaultConnection and VaultAuth in the operator namespace (used by every namespace). */
export async function createConnectionAndAuth(kube: KubeClient, vaultAddress: string): Promise<void> {
  await kube.create(VSO.VaultConnection, OPERATOR_NS, {
    apiVersion: API_VERSION,
    kind: "VaultConnection",
    metadata: { name: "default" },
    spec: { address: vaultAddress },
  });
  await kube.create(VSO.VaultAuth, OPERATOR_NS, {
    apiVersion: API_VERSION,
    kind: "VaultAuth",
    metadata: { name: "default" },
    spec: { method: "kubernetes", mount: "kubernetes", kubernetes: { role: ROLE, serviceAccount: SA } },
  });
}

export async function putKv(
  vault: VaultHttp,
  rootToken: string,
  list: Item[],
  concurrency = 16,
): Promise<void> {
  await pool(list, concurrency, async (it) => {
    await vault.call("POST", `secret/data/${it.path}`, { token: rootToken, body: { data: it.data } });
  });
}

export async function createStaticSecrets(
  kube: KubeClient,
  list: Item[],
  refreshAfter: string,
  concurrency = 16,
) {
  await pool(list, concurrency, async (it) => {
    await kube.create(VSO.VaultStaticSecret, it.namespace, {
      apiVersion: API_VERSION,
      kind: "VaultStaticSecret",
      metadata: { name: it.name },
      spec: {
        type: "kv-v2",
        mount: "secret",
        path: it.path,
        refreshAfter,
        destination: { name: it.name, create: true },
      },
    });
  });
}
