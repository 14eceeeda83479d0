// Metrics over HTTPS with Kubernetes authentication and authorization, as
// controller-runtime's secure metrics serve them (no kube-rbac-proxy sidecar):
// the scraper's bearer token is checked with a TokenReview, and the user it
// names must be allowed `get` on the non-resource URL /metrics by a
// SubjectAccessReview. Decisions are cached briefly by a hash of the token, so
// a scrape every few seconds costs no API calls. The serving certificate is
// self-signed at start unless one is given (--metrics-cert-dir, as in
// controller-runtime: tls.crt and tls.key).
import { createHash, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import { join } from "node:path";
import type { KubeClient, ResourceType } from "../kube/client.ts";

const TOKEN_REVIEWS: ResourceType = {
  group: "authentication.k8s.io",
  version: "v1",
  plural: "tokenreviews",
  kind: "TokenReview",
  namespaced: false,
};
const ACCESS_REVIEWS: ResourceType = {
  group: "authorization.k8s.io",
  version: "v1",
  plural: "subjectaccessreviews",
  kind: "SubjectAccessReview",
  namespaced: false,
};

export interface ReviewedUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

/** The two questions the server asks the API server; injectable so the decision logic is testable. */
export interface MetricsAuthority {
  authenticate(token: string): Promise<ReviewedUser | undefined>;
  authorize(user: ReviewedUser, path: string): Promise<boolean>;
}

export function kubeAuthority(kube: KubeClient): MetricsAuthority {
  return {
    async authenticate(token) {
      const res = (await kube.create(TOKEN_REVIEWS, undefined, {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token },
      })) as unknown as { status?: { authenticated?: boolean; user?: ReviewedUser } };
      return res.status?.authenticated && res.status.user ? res.status.user : undefined;
    },
    async authorize(user, path) {
      const res = (await kube.create(ACCESS_REVIEWS, undefined, {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user: user.username,
          uid: user.uid,
          groups: user.groups,
          extra: user.extra,
          nonResourceAttributes: { path, verb: "get" },
        },
      })) as unknown as { status?: { allowed?: boolean } };
      return res.status?.allowed === true;
    },
  };
}

export type AuthDecision = { status: 200 } | { status: 401 | 403 | 500; message: string };

/** Answers "may this request read metrics?", caching answers per token for ttlMs. */
export class MetricsGate {
  private readonly cache = new Map<string, { decision: AuthDecision; until: number }>();
  private readonly authority: MetricsAuthority;
  private readonly ttlMs: number;
  private readonly now: () => number;
  constructor(authority: MetricsAuthority, ttlMs = 60_000, now: () => number = Date.now) {
    this.authority = authority;
    this.ttlMs = ttlMs;
    this.now = now;
  }

  async decide(authorization: string | undefined, path: string): Promise<AuthDecision> {
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? "");
    if (!m) return { status: 401, message: "Unauthorized: a bearer token is required" };
    const key = `${createHash("sha256").update(m[1]).digest("hex")} ${path}`;
    const hit = this.cache.get(key);
    if (hit && hit.until > this.now()) return hit.decision;
    let decision: AuthDecision;
    try {
      const user = await this.authority.authenticate(m[1]);
      if (!user) decision = { status: 401, message: "Unauthorized" };
      else if (!(await this.authority.authorize(user, path))) {
        decision = { status: 403, message: `Forbidden: ${user.username} may not get ${path}` };
      } else decision = { status: 200 };
    } catch {
      return { status: 500, message: "could not review the request with the Kubernetes API" }; // not cached
    }
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(key, { decision, until: this.now() + this.ttlMs });
    return decision;
  }
}

/** A self-signed serving certificate (ECDSA P-256, one year) for the metrics endpoint. */
export async function selfSignedCertificate(hostnames: string[]): Promise<{ cert: string; key: string }> {
  // Loaded here, on first use: @peculiar/x509 and its ASN.1 schemas cost some 6 MiB once
  // evaluated, and an operator serving plain metrics or given --metrics-cert-dir never needs them.
  await import("reflect-metadata"); // @peculiar/x509 needs the Reflect metadata polyfill first
  const x509 = await import("@peculiar/x509");
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const keys = (await webcrypto.subtle.generateKey(alg, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const notBefore = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8)))
      .toString("hex")
      .replace(/^[89a-f]/, "1"),
    name: `CN=${hostnames[0] ?? "vso-ts-metrics"}`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 365 * 86_400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [
      new x509.SubjectAlternativeNameExtension(hostnames.map((h) => ({ type: "dns" as const, value: h }))),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
    ],
  });
  const der = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { cert: cert.toString("pem"), key: x509.PemConverter.encode(der, "PRIVATE KEY") };
}

export interface SecureMetricsOptions {
  gate: MetricsGate;
  /** Serves an authorized request (the metrics themselves). */
  handler: (req: IncomingMessage, res: ServerResponse) => void;
  certDir?: string;
  hostnames?: string[];
}

export async function createSecureMetricsServer(o: SecureMetricsOptions): Promise<Server> {
  const tls = o.certDir
    ? {
        cert: readFileSync(join(o.certDir, "tls.crt"), "utf8"),
        key: readFileSync(join(o.certDir, "tls.key"), "utf8"),
      }
    : await selfSignedCertificate(o.hostnames ?? ["localhost"]);
  return createServer({ cert: tls.cert, key: tls.key }, (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    void o.gate.decide(req.headers.authorization, path).then((d) => {
      if (d.status === 200) o.handler(req, res);
      else res.writeHead(d.status, { "content-type": "text/plain" }).end(`${d.message}\n`);
    });
  });
}
