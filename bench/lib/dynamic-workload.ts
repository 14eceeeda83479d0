// The dynamic kind of the benchmark's workload (BENCH_KIND=dynamic): the environment's
// PostgreSQL behind the `database/` mount with one role whose credentials are login roles,
// and N VaultDynamicSecrets over the bench namespaces, each issuing its own lease into its
// own destination. The lease TTL is short so that renewals happen inside the steady window.
import type { KubeClient } from "../../src/kube/client.ts";
import { API_VERSION, VSO } from "../../src/operator/resources.ts";
import type { VaultHttp } from "../../src/vault/http.ts";
import { NAMESPACES, pool } from "./workload.ts";

/** The database role every VaultDynamicSecret reads (database/creds/<role>). */
export const DB_ROLE = "bench";
const DB_CONNECTION = "bench-pg";
export const LEASE_TTL_S = 60;
export const LEASE_MAX_TTL = "1h";

/** What the operators ask of Vault: issue, renew and revoke (VSO and vso-ts use the same paths). */
export const DB_POLICY = [
  `path "database/creds/${DB_ROLE}" { capabilities = ["read"] }`,
  'path "sys/leases/renew" { capabilities = ["update"] }',
  'path "sys/leases/revoke" { capabilities = ["update"] }',
].join("\n");

// A login role per lease; VALID UNTIL follows the lease, so a renewal is an ALTER ROLE.
const CREATION_STATEMENTS = [
  `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
];

export interface DynamicItem {
  namespace: string;
  name: string;
}

export function dynamicItems(n: number): DynamicItem[] {
  return Array.from({ length: n }, (_, i) => ({
    namespace: NAMESPACES[i % NAMESPACES.length],
    name: `d-${i}`,
  }));
}

/** The connection and role on the environment's `database/` mount (the environment mounts it). */
export async function setupDatabase(
  vault: VaultHttp,
  rootToken: string,
  pg: { host: string; port: number; user: string; password: string; database: string },
): Promise<void> {
  await vault.call("POST", `database/config/${DB_CONNECTION}`, {
    token: rootToken,
    body: {
      plugin_name: "postgresql-database-plugin",
      allowed_roles: [DB_ROLE],
      connection_url: `postgresql://{{username}}:{{password}}@${pg.host}:${pg.port}/${pg.database}?sslmode=disable`,
      username: pg.user,
      password: pg.password,
      verify_connection: true,
    },
  });
  await vault.call("POST", `database/roles/${DB_ROLE}`, {
    token: rootToken,
    body: {
      db_name: DB_CONNECTION,
      creation_statements: CREATION_STATEMENTS,
      default_ttl: `${LEASE_TTL_S}s`,
      max_ttl: LEASE_MAX_TTL,
    },
  });
}

/** Fields both operators' CRDs know (VSO's replace ours for VSO runs); the rest is defaulted. */
export async function createDynamicSecrets(kube: KubeClient, list: DynamicItem[], concurrency = 16) {
  await pool(list, concurrency, async (it) => {
    await kube.create(VSO.VaultDynamicSecret, it.namespace, {
      apiVersion: API_VERSION,
      kind: "VaultDynamicSecret",
      metadata: { name: it.name },
      spec: {
        mount: "database",
        path: `creds/${DB_ROLE}`,
        destination: { name: it.name, create: true },
      },
    });
  });
}

/** Live leases of the bench role, as Vault lists them (asked with the root token, not through the proxy). */
export async function leaseCount(vault: VaultHttp, rootToken: string): Promise<number> {
  const res = await vault.call<{ data?: { keys?: string[] } }>(
    "LIST",
    `sys/leases/lookup/database/creds/${DB_ROLE}`,
    { token: rootToken, accept: [404] },
  );
  return res.json?.data?.keys?.length ?? 0;
}
