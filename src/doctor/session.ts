// What the doctor knows about one secret resource as it walks the chain:
// the resource, what its references resolved to, the Vault HTTP layer and,
// after a successful login, the doctor's own short-lived token (revoked when
// the walk ends). Steps read what earlier steps found and add to it.
import type { VaultConnection } from "../api/index.ts";
import type { KubeClient, KubeObject } from "../kube/client.ts";
import type { ResolvedAuth } from "../operator/refs.ts";
import { VaultApiError, type VaultHttp } from "../vault/http.ts";

export type SecretKind = "VaultStaticSecret" | "VaultDynamicSecret" | "VaultPKISecret";

export const SECRET_KINDS: Record<SecretKind, { aliases: string[]; controller: string }> = {
  VaultStaticSecret: {
    aliases: ["vaultstaticsecret", "vaultstaticsecrets", "vss"],
    controller: "vaultstaticsecret",
  },
  VaultDynamicSecret: {
    aliases: ["vaultdynamicsecret", "vaultdynamicsecrets", "vds"],
    controller: "vaultdynamicsecret",
  },
  VaultPKISecret: { aliases: ["vaultpkisecret", "vaultpkisecrets", "vps"], controller: "vaultpkisecret" },
};

/** The KIND argument: a kind name, its plural or short alias, any case. */
export function parseKind(arg: string): SecretKind | undefined {
  const a = arg.toLowerCase();
  return (Object.keys(SECRET_KINDS) as SecretKind[]).find((k) => SECRET_KINDS[k].aliases.includes(a));
}

export interface DoctorOptions {
  kube: KubeClient;
  operatorNamespace: string;
  allowDefaultGlobals: boolean;
  /** Reach Vault here instead of the VaultConnection's address (e.g. through kubectl port-forward). */
  vaultAddress?: string;
  /** The operator's /metrics, for what it says about the resource. */
  metricsUrl?: string;
  metricsToken?: string;
  /** Issue (and at once revoke) a dynamic credential or certificate to prove the read works. */
  issue: boolean;
  /** Per request to Vault. */
  timeoutMs: number;
  leaderElectionId: string;
}

export interface SecretResource extends KubeObject {
  spec: {
    vaultAuthRef?: string;
    namespace?: string;
    mount: string;
    path?: string;
    type?: string;
    version?: number;
    role?: string;
    issuerRef?: string;
    revoke?: boolean;
    params?: Record<string, string>;
    requestHTTPMethod?: string;
    hmacSecretData?: boolean;
    destination: {
      name: string;
      create?: boolean;
      overwrite?: boolean;
    };
    rolloutRestartTargets?: { kind: string; name: string }[];
  };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

export interface Session {
  opts: DoctorOptions;
  kind: SecretKind;
  namespace: string;
  name: string;
  obj?: SecretResource;
  resolved?: ResolvedAuth;
  connection?: VaultConnection;
  http?: VaultHttp;
  /** The doctor's own token from a real login; only in request headers, revoked at the end. */
  token?: string;
  /** The most seconds a token of this role can live (its own renewed to the limit), when known. */
  tokenMaxLifeS?: number;
  policies?: string[];
  /** The Vault namespace of the resource's reads. */
  vaultNamespace?: string;
}

/** `VaultAuth ns/name` of the resolved auth, for messages. */
export function authName(s: Session): string {
  const a = s.resolved?.auth.metadata;
  return `VaultAuth ${a?.namespace}/${a?.name}`;
}

/** Vault's multi-error text ("1 error occurred:\n\t* permission denied\n\n") as one line. */
export function cleanVaultError(text: string): string {
  return text
    .replace(/\d+ errors? occurred:\s*/g, "")
    .replace(/\s*\n\t\* /g, "; ")
    .replace(/^\* /, "")
    .replace(/\s+$/g, "")
    .replace(/\s*\n\s*/g, " ");
}

export function errText(err: unknown): string {
  if (err instanceof VaultApiError) {
    const msg = cleanVaultError(err.vaultErrors.join("; "));
    return `Vault ${err.status} on ${err.path}${msg ? `: ${msg}` : ""}`;
  }
  if (err instanceof Error) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code
      ? `${err.message} (${cause.code}${cause.message ? `: ${cause.message}` : ""})`
      : err.message;
  }
  return String(err);
}
