// Configures a fresh local environment the way the seed walkthrough configures
// a cluster and Vault, so its manifests apply unchanged (apart from the Vault
// address): KV v2 sample data, Kubernetes auth with role myapp-role, policies,
// the database engine with my-postgres and myapp-db-role, PKI and Transit.
import { CORE, type KubeClient } from "../kube/client.ts";
import type { VaultHttp } from "../vault/http.ts";

export const OPERATOR_NAMESPACE = "vault-secrets-operator-system";
export const TOKEN_REVIEWER_SA = "vault-token-reviewer";
/**
 * Where the reviewer's service account lives: kube-system, so that removing
 * the operator's namespace (helm uninstall, a test) never breaks Vault's logins.
 */
export const TOKEN_REVIEWER_NAMESPACE = "kube-system";

export const SAMPLE_SECRETS: Record<string, Record<string, string>> = {
  "myapp/database": {
    username: "myapp",
    password: "playground-db-password",
    host: "postgres.default.svc.cluster.local",
    port: "5432",
  },
  "myapp/api-keys": {
    public_key: "pk-playground-0001",
    private_key: "sk-playground-0002",
    internal_key: "ik-playground-0003",
  },
};

/** Creation statements of the seed's myapp-db-role, with Vault's template markers restored. */
export const DB_CREATION_STATEMENTS = [
  `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
  `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "{{name}}";`,
];

export interface PlaygroundOptions {
  dbDefaultTtl: string;
  dbMaxTtl: string;
}

/** Kubernetes side: namespaces, service accounts, the token reviewer's RBAC, and its token. */
export async function configureKubernetes(kube: KubeClient): Promise<{ reviewerJwt: string }> {
  await kube.createIfAbsent(CORE.namespaces, undefined, { metadata: { name: OPERATOR_NAMESPACE } });
  await kube.createIfAbsent(CORE.serviceaccounts, "default", { metadata: { name: "myapp-sa" } });
  await kube.createIfAbsent(CORE.serviceaccounts, TOKEN_REVIEWER_NAMESPACE, {
    metadata: { name: TOKEN_REVIEWER_SA },
  });
  await kube.createIfAbsent(CORE.clusterrolebindings, undefined, {
    metadata: { name: "vso-ts-vault-token-reviewer" },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "system:auth-delegator" },
    subjects: [{ kind: "ServiceAccount", name: TOKEN_REVIEWER_SA, namespace: TOKEN_REVIEWER_NAMESPACE }],
  });
  const res = (await kube.raw(
    "POST",
    kube.path(CORE.serviceaccounts, TOKEN_REVIEWER_NAMESPACE, TOKEN_REVIEWER_SA, "token"),
    {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 365 * 86400 },
    },
  )) as { status: { token: string } };
  return { reviewerJwt: res.status.token };
}

/** The walkthrough's KV v2 secrets (at secret/, which a dev server mounts) and `myapp-policy` to read them. */
export async function configureSampleSecrets(vault: VaultHttp, token: string): Promise<void> {
  const t = { token };
  for (const [path, data] of Object.entries(SAMPLE_SECRETS)) {
    await vault.call("POST", `secret/data/${path}`, { ...t, body: { data } });
  }
  await vault.call("PUT", "sys/policies/acl/myapp-policy", {
    ...t,
    body: {
      policy: [
        'path "secret/data/myapp/*" { capabilities = ["read"] }',
        'path "secret/metadata/myapp/*" { capabilities = ["read", "list"] }',
      ].join("\n"),
    },
  });
}

export async function configureVault(
  vault: VaultHttp,
  token: string,
  kube: { server: string; caPem: string; reviewerJwt: string },
  pg: { host: string; port: number },
  opts: PlaygroundOptions,
): Promise<void> {
  const t = { token };
  await configureSampleSecrets(vault, token);
  await vault.call("PUT", "sys/policies/acl/myapp-db-policy", {
    ...t,
    body: {
      policy: [
        'path "database/creds/myapp-db-role" { capabilities = ["read"] }',
        // Not in the seed's policy: lets the operator renew and revoke the leases it holds.
        'path "sys/leases/renew" { capabilities = ["update"] }',
        'path "sys/leases/revoke" { capabilities = ["update"] }',
      ].join("\n"),
    },
  });

  await vault.call("POST", "sys/auth/kubernetes", { ...t, body: { type: "kubernetes" } });
  await vault.call("POST", "auth/kubernetes/config", {
    ...t,
    body: {
      kubernetes_host: kube.server,
      kubernetes_ca_cert: kube.caPem,
      token_reviewer_jwt: kube.reviewerJwt,
      disable_local_ca_jwt: true,
    },
  });
  await vault.call("POST", "auth/kubernetes/role/myapp-role", {
    ...t,
    body: {
      bound_service_account_names: ["myapp-sa"],
      bound_service_account_namespaces: ["default"],
      policies: ["myapp-policy", "myapp-db-policy"],
      ttl: "24h",
    },
  });

  await vault.call("POST", "sys/mounts/database", { ...t, body: { type: "database" } });
  await vault.call("POST", "database/config/my-postgres", {
    ...t,
    body: {
      plugin_name: "postgresql-database-plugin",
      allowed_roles: ["myapp-db-role"],
      connection_url: `postgresql://{{username}}:{{password}}@${pg.host}:${pg.port}/mydb?sslmode=disable`,
      username: "vaultadmin",
      password: "vaultpassword",
    },
  });
  await vault.call("POST", "database/roles/myapp-db-role", {
    ...t,
    body: {
      db_name: "my-postgres",
      creation_statements: DB_CREATION_STATEMENTS,
      default_ttl: opts.dbDefaultTtl,
      max_ttl: opts.dbMaxTtl,
    },
  });

  await vault.call("POST", "sys/mounts/pki", {
    ...t,
    body: { type: "pki", config: { max_lease_ttl: "87600h" } },
  });
  await vault.call("POST", "pki/root/generate/internal", {
    ...t,
    body: { common_name: "vso-ts playground root CA", ttl: "87600h", issuer_name: "playground-root" },
  });
  await vault.call("POST", "pki/roles/default", {
    ...t,
    body: { allow_any_name: true, allow_ip_sans: true, allow_subdomains: true, max_ttl: "720h" },
  });
  await vault.call("POST", "sys/mounts/transit", { ...t, body: { type: "transit" } });
  await vault.call("POST", "transit/keys/vso-client-cache", { ...t, body: {} });
}
