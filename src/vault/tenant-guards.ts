// Guard rails a cluster admin sets for namespace tenants, beyond VSO (issue 22).
// A tenant (anyone who may create VaultConnections and VaultAuths in a
// namespace other than the operator's) otherwise chooses the Vault address the
// operator talks to, and the audiences and lifetime of the ServiceAccount
// tokens the operator requests for its namespace and sends there. With these
// set, a VaultConnection outside the allowed addresses gets a condition and no
// request is ever sent to it, and tenant tokens carry the admin's audiences
// and lifetime. The operator's own namespace is the admin's and is not guarded.

export interface TenantGuards {
  operatorNamespace: string;
  /**
   * Vault origins tenants may use: `scheme://host[:port]` exactly, or
   * `scheme://*.suffix[:port]` for any host under a DNS suffix. Empty: any.
   */
  vaultAddresses: string[];
  /** Audiences every tenant ServiceAccount token carries instead of the VaultAuth's. Empty: the VaultAuth's. */
  tokenAudiences: string[];
  /** The longest lifetime of a tenant ServiceAccount token, in seconds (at least 600). 0: no cap. */
  tokenMaxExpirationSeconds: number;
}

export const NO_GUARDS: TenantGuards = {
  operatorNamespace: "",
  vaultAddresses: [],
  tokenAudiences: [],
  tokenMaxExpirationSeconds: 0,
};

function defaultPort(protocol: string): string {
  return protocol === "https:" ? "443" : "80";
}

/** Parses one allow-list entry; throws a message naming the flag for a bad one. */
export function parseAllowedAddress(entry: string): {
  protocol: string;
  host: string;
  wildcard: boolean;
  port: string;
} {
  const wildcard = /^[a-z]+:\/\/\*\./.test(entry);
  let u: URL;
  try {
    u = new URL(wildcard ? entry.replace("://*.", "://wildcard.") : entry);
  } catch {
    throw new Error(
      `--tenant-vault-addresses: "${entry}" is not a URL such as https://vault.example.com:8200`,
    );
  }
  if (
    (u.protocol !== "https:" && u.protocol !== "http:") ||
    (u.pathname !== "/" && u.pathname !== "") ||
    u.search
  )
    throw new Error(
      `--tenant-vault-addresses: "${entry}" must be scheme://host[:port] (http or https, no path)`,
    );
  const host = wildcard ? u.hostname.slice("wildcard".length) : u.hostname;
  return { protocol: u.protocol, host, wildcard, port: u.port || defaultPort(u.protocol) };
}

/** Why a VaultConnection's address is refused for its namespace, or undefined when it may be used. */
export function vaultAddressRefusal(
  address: string,
  connNamespace: string,
  g: TenantGuards,
): string | undefined {
  if (g.vaultAddresses.length === 0 || connNamespace === g.operatorNamespace) return undefined;
  let u: URL;
  try {
    u = new URL(address);
  } catch {
    return `spec.address "${address}" is not a URL`;
  }
  const port = u.port || defaultPort(u.protocol);
  const ok = g.vaultAddresses.some((entry) => {
    const a = parseAllowedAddress(entry);
    if (a.protocol !== u.protocol || a.port !== port) return false;
    return a.wildcard
      ? u.hostname.endsWith(a.host) && u.hostname.length > a.host.length
      : u.hostname === a.host;
  });
  if (ok) return undefined;
  return (
    `spec.address ${u.origin} is not among the Vault addresses the cluster admin allows for tenant namespaces ` +
    `(--tenant-vault-addresses: ${g.vaultAddresses.join(", ")}); no request was sent to it`
  );
}

/** The audiences and lifetime of a ServiceAccount token requested for `namespace`. */
export function tenantTokenRequest(
  namespace: string,
  audiences: string[] | undefined,
  expirationSeconds: number | undefined,
  g: TenantGuards,
): { audiences?: string[]; expirationSeconds: number } {
  let exp = Math.max(600, expirationSeconds ?? 600);
  let aud = audiences && audiences.length > 0 ? audiences : undefined;
  if (namespace !== g.operatorNamespace) {
    if (g.tokenMaxExpirationSeconds > 0) exp = Math.min(exp, g.tokenMaxExpirationSeconds);
    if (g.tokenAudiences.length > 0) aud = g.tokenAudiences;
  }
  return { audiences: aud, expirationSeconds: exp };
}
