// Builds the HTTP layer for a VaultConnection: address, extra headers, TLS (CA
// from a Secret or an allowed file, server name, skip verify) and request timeout.
import { Agent } from "undici";
import type { VaultConnection } from "../api/index.ts";
import { CORE, type KubeClient, type KubeObject } from "../kube/client.ts";
import { parseDuration } from "../util/duration.ts";
import { type CaCertPathPolicy, CaCertPathRefused, readCaCertPath } from "./ca-cert-path.ts";
import { VaultHttp } from "./http.ts";
import { NO_GUARDS, type TenantGuards, vaultAddressRefusal } from "./tenant-guards.ts";

export class ConnectionConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "ConnectionConfigError";
    this.field = field;
  }
}

/** Checks what the CRD schema cannot (or what an older CRD might have let through). */
export function validateConnectionSpec(conn: VaultConnection): void {
  const spec = conn.spec;
  try {
    const u = new URL(spec.address);
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new Error("scheme");
  } catch {
    throw new ConnectionConfigError("spec.address", `spec.address "${spec.address}" is not an http(s) URL`);
  }
  for (const h of Object.keys(spec.headers ?? {})) {
    if (h.toLowerCase() === "x-vault-namespace") {
      throw new ConnectionConfigError(
        "spec.headers",
        "spec.headers must not set X-Vault-Namespace; set the Vault namespace on the VaultAuth or secret resource",
      );
    }
  }
  if (spec.caCertSecretRef && spec.caCertPath) {
    throw new ConnectionConfigError(
      "spec.caCertSecretRef",
      "spec.caCertSecretRef and spec.caCertPath are mutually exclusive",
    );
  }
  if (spec.timeout) {
    try {
      parseDuration(spec.timeout);
    } catch {
      throw new ConnectionConfigError("spec.timeout", `spec.timeout "${spec.timeout}" is not a duration`);
    }
  }
}

export async function buildVaultHttp(
  kube: KubeClient,
  conn: VaultConnection,
  userAgent: string,
  caCertPathPolicy?: CaCertPathPolicy,
  guards: TenantGuards = NO_GUARDS,
): Promise<VaultHttp> {
  validateConnectionSpec(conn);
  const spec = conn.spec;
  const refused = vaultAddressRefusal(spec.address, conn.metadata.namespace ?? "", guards);
  if (refused) throw new ConnectionConfigError("spec.address", refused);
  let ca: string | undefined;
  if (spec.caCertSecretRef) {
    const s = await kube.getOrNull<KubeObject & { data?: Record<string, string> }>(
      CORE.secrets,
      conn.metadata.namespace,
      spec.caCertSecretRef,
    );
    if (!s) {
      throw new ConnectionConfigError(
        "spec.caCertSecretRef",
        `CA Secret ${conn.metadata.namespace}/${spec.caCertSecretRef} not found`,
      );
    }
    const b64 = s.data?.["ca.crt"];
    if (!b64) {
      throw new ConnectionConfigError(
        "spec.caCertSecretRef",
        `CA Secret ${spec.caCertSecretRef} has no key ca.crt`,
      );
    }
    ca = Buffer.from(b64, "base64").toString("utf8");
  } else if (spec.caCertPath) {
    try {
      ca = readCaCertPath(spec.caCertPath, conn.metadata.namespace ?? "", caCertPathPolicy);
    } catch (err) {
      if (err instanceof CaCertPathRefused) throw new ConnectionConfigError(err.field, err.message);
      throw err;
    }
  }
  const isHttps = spec.address.startsWith("https:");
  const dispatcher = new Agent({
    connect: isHttps
      ? { ca, servername: spec.tlsServerName || undefined, rejectUnauthorized: !spec.skipTLSVerify }
      : undefined,
    connections: 32,
    keepAliveTimeout: 30_000,
  });
  return new VaultHttp({
    address: spec.address,
    dispatcher,
    headers: { ...(spec.headers ?? {}), "user-agent": userAgent },
    timeoutMs: spec.timeout ? parseDuration(spec.timeout) : 60_000,
  });
}
