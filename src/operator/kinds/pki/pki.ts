// Pure helpers for VaultPKISecret: the issue path and request body, the data
// written to the destination (including the kubernetes.io/tls mapping), and
// the renewal schedule. Nothing here talks to Kubernetes or Vault.
import { X509Certificate } from "node:crypto";
import type { VaultPKISecretSpec } from "../../../api/index.ts";
import { MIN_REQUEUE_MS } from "../../../runtime/requeue.ts";
import { parseDuration } from "../../../util/duration.ts";

/** A problem with the VaultPKISecret's own spec: retried at the configuration-error pace, not with backoff. */
export class PKISpecError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "PKISpecError";
    this.field = field;
  }
}

/** The shortest time between two looks at a certificate (spec 2.8): the runtime's requeue floor. */
export const MIN_HORIZON_MS = MIN_REQUEUE_MS;
/** Renewal jitter, as a fraction of the time left until the renewal point. */
export const JITTER_FRACTION = 0.05;

const TTL_PATTERN = /^([0-9]+(\.[0-9]+)?(s|m|h|d))$/;
const NOT_AFTER_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

function trimSlashes(s: string): string {
  return s.replace(/^\/+|\/+$/g, "");
}

/** Checks the fields the API server cannot check for us; throws PKISpecError. */
export function validatePKISpec(spec: VaultPKISecretSpec): { offsetMs: number } {
  if (!spec.mount || !trimSlashes(spec.mount)) throw new PKISpecError("spec.mount", "spec.mount is empty");
  if (!spec.role || spec.role.includes("/")) {
    throw new PKISpecError(
      "spec.role",
      `spec.role ${JSON.stringify(spec.role ?? "")} is not a PKI role name`,
    );
  }
  if (spec.issuerRef?.includes("/")) {
    throw new PKISpecError("spec.issuerRef", `spec.issuerRef ${JSON.stringify(spec.issuerRef)} contains "/"`);
  }
  if (spec.ttl && !TTL_PATTERN.test(spec.ttl)) {
    throw new PKISpecError(
      "spec.ttl",
      `spec.ttl ${JSON.stringify(spec.ttl)} is not a duration like 24h or 30d`,
    );
  }
  if (spec.notAfter && !NOT_AFTER_PATTERN.test(spec.notAfter)) {
    throw new PKISpecError(
      "spec.notAfter",
      `spec.notAfter ${JSON.stringify(spec.notAfter)} is not of the form YYYY-MM-DDTHH:MM:SSZ`,
    );
  }
  let offsetMs = 0;
  if (spec.expiryOffset) {
    try {
      offsetMs = parseDuration(spec.expiryOffset);
    } catch {
      offsetMs = Number.NaN;
    }
    if (!Number.isFinite(offsetMs) || offsetMs < 0) {
      throw new PKISpecError(
        "spec.expiryOffset",
        `spec.expiryOffset ${JSON.stringify(spec.expiryOffset)} is not a duration like 1h`,
      );
    }
  }
  return { offsetMs };
}

/** `<mount>/issue/<role>`, or with issuerRef the path Vault documents, `<mount>/issuer/<ref>/issue/<role>`. */
export function pkiIssuePath(spec: Pick<VaultPKISecretSpec, "mount" | "role" | "issuerRef">): string {
  const mount = trimSlashes(spec.mount);
  return spec.issuerRef
    ? `${mount}/issuer/${spec.issuerRef}/issue/${spec.role}`
    : `${mount}/issue/${spec.role}`;
}

export function pkiRevokePath(mount: string): string {
  return `${trimSlashes(mount)}/revoke`;
}

/** The body of the issue request; empty fields are left out so the role's defaults apply. */
export function pkiRequestBody(spec: VaultPKISecretSpec): Record<string, unknown> {
  const list = (v?: string[]) => (v && v.length > 0 ? v.join(",") : undefined);
  const fields: Record<string, unknown> = {
    common_name: spec.commonName,
    alt_names: list(spec.altNames),
    ip_sans: list(spec.ipSans),
    uri_sans: list(spec.uriSans),
    other_sans: list(spec.otherSans),
    user_ids: list(spec.userIDs),
    ttl: spec.ttl,
    format: spec.format,
    private_key_format: spec.privateKeyFormat,
    not_after: spec.notAfter,
    exclude_cn_from_sans: spec.excludeCNFromSans ? true : undefined,
  };
  const body: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined && v !== "") body[k] = v;
  body.remove_roots_from_chain = true;
  return body;
}

/** The `data` of an issue response. */
export interface IssuedCertificate {
  certificate?: string;
  private_key?: string;
  private_key_type?: string;
  issuing_ca?: string;
  ca_chain?: string[] | string;
  serial_number?: string;
  expiration?: number;
  [k: string]: unknown;
}

/**
 * Unix seconds at which the certificate expires: Vault's `expiration`, or the
 * certificate's notAfter when Vault did not say (DER or PEM).
 */
export function expirationOf(d: IssuedCertificate): number {
  const e = Number(d.expiration);
  if (Number.isFinite(e) && e > 0) return Math.floor(e);
  const cert = d.certificate ?? "";
  try {
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(cert)?.[0];
    const x = new X509Certificate(pem ?? Buffer.from(cert, "base64"));
    return Math.floor(Date.parse(x.validTo) / 1000);
  } catch {
    return 0;
  }
}

/**
 * The keys written as fields of the Secret: the response data with `ca_chain`
 * joined by newlines and `expiration` as Vault sent it (VSO's shape).
 */
export function pkiSecretFields(d: IssuedCertificate): Record<string, unknown> {
  const out: Record<string, unknown> = { ...d };
  if (Array.isArray(d.ca_chain)) out.ca_chain = d.ca_chain.join("\n");
  return out;
}

/** tls.crt (certificate plus chain, or the issuing CA without a chain), tls.key and ca.crt. */
export function tlsFields(d: IssuedCertificate): Record<string, string> {
  const chain = Array.isArray(d.ca_chain)
    ? d.ca_chain.filter((c) => c)
    : typeof d.ca_chain === "string" && d.ca_chain
      ? [d.ca_chain]
      : [];
  const rest = chain.length > 0 ? chain : d.issuing_ca ? [d.issuing_ca] : [];
  const out: Record<string, string> = {
    "tls.crt": [d.certificate ?? "", ...rest].join("\n"),
    "tls.key": d.private_key ?? "",
  };
  if (d.issuing_ca) out["ca.crt"] = d.issuing_ca;
  return out;
}

/**
 * The expiryOffset that is actually used. An offset that is not shorter than
 * the certificate's lifetime (for instance when the role's max_ttl cut the
 * requested ttl) would put every new certificate straight into the renewal
 * window and re-issue it in a loop; such a certificate is renewed at half its
 * lifetime instead. Half, not a smaller share, because issuing itself takes
 * time (over a second on a busy Vault) and the successor must arrive before
 * the certificate expires.
 */
export function effectiveOffsetMs(offsetMs: number, expirationS: number, issuedS: number): number {
  const lifetimeMs = (expirationS - issuedS) * 1000;
  if (lifetimeMs > 0 && offsetMs >= lifetimeMs) return Math.floor(lifetimeMs / 2);
  return offsetMs;
}

/** Unix milliseconds at which the certificate is due for renewal. */
export function renewalDueMs(expirationS: number, offsetMs: number): number {
  return expirationS * 1000 - offsetMs;
}

/**
 * Whether the certificate must be re-issued now: the renewal point is reached,
 * or is closer than the renewal jitter (5 % of the time from issue to the
 * renewal point, at least the minimum horizon). A wake-up that the jitter
 * brought forward therefore renews instead of sleeping again, and waiting the
 * minimum horizon never takes a renewal past its due time.
 */
export function inRenewalWindow(
  expirationS: number,
  offsetMs: number,
  issuedS: number,
  now = Date.now(),
): boolean {
  const due = renewalDueMs(expirationS, offsetMs);
  const span = issuedS > 0 ? due - issuedS * 1000 : 0;
  const early = Math.max(MIN_HORIZON_MS, span > 0 ? JITTER_FRACTION * span : 0);
  return now >= due - early;
}

/**
 * Milliseconds until the next look at the certificate: the time left until the
 * renewal point minus up to 5 % jitter, at least the minimum horizon. The
 * jitter only ever brings a renewal forward, never past the point the user
 * asked for (a positive jitter on a small expiryOffset could outlast the
 * certificate).
 */
export function renewalDelayMs(
  expirationS: number,
  offsetMs: number,
  now = Date.now(),
  random: () => number = Math.random,
): number {
  const h = renewalDueMs(expirationS, offsetMs) - now;
  if (h <= MIN_HORIZON_MS) return MIN_HORIZON_MS;
  return Math.max(MIN_HORIZON_MS, Math.round(h - JITTER_FRACTION * h * random()));
}
