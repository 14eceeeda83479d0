// A counting HTTP proxy in front of OpenBao. OpenBao 2.x enables audit devices only from its
// config file, which the dev server does not take, so every operator under test talks to
// Vault through this proxy instead, and the harness counts what reached Vault: logins,
// KV reads and everything else, by method and path class. The proxy adds the same small
// hop for every operator (and for the limit program).
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type VaultCounts = Record<string, number>;

/** The class of a Vault request: login, kv-read, token-lookup, lease-renew, ... */
export function classify(method: string, path: string): string {
  const p = path.replace(/^\/v1\//, "").split("?")[0];
  if (/^auth\/[^/]+\/login/.test(p)) return "login";
  if (method === "GET" && /^secret\/data\//.test(p)) return "kv-read";
  if (/^auth\/token\/lookup-self/.test(p)) return "token-lookup";
  if (/^auth\/token\/renew-self/.test(p)) return "token-renew";
  if (/^sys\/leases\/renew/.test(p)) return "lease-renew";
  if (/^sys\/leases\/revoke/.test(p)) return "lease-revoke";
  if (/^database\/creds\//.test(p)) return "db-creds";
  return `${method} ${p.split("/").slice(0, 2).join("/")}`;
}

export class VaultProxy {
  private counts: VaultCounts = {};
  /** Requests Vault answered with a status of 400 or more, by class and status ("db-creds 500"). */
  private failures: VaultCounts = {};
  private server?: Server;
  address = "";

  private readonly target: string;

  constructor(target: string) {
    this.target = target;
  }

  async start(): Promise<string> {
    const target = new URL(this.target);
    this.server = createServer((req: IncomingMessage, res) => {
      const cls = classify(req.method ?? "GET", req.url ?? "");
      this.counts[cls] = (this.counts[cls] ?? 0) + 1;
      const up = httpRequest(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (upRes) => {
          const status = upRes.statusCode ?? 502;
          if (status >= 400) {
            const key = `${cls} ${status}`;
            this.failures[key] = (this.failures[key] ?? 0) + 1;
          }
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
        },
      );
      up.on("error", () => {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      });
      req.pipe(up);
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve) => this.server?.listen(0, "127.0.0.1", resolve));
    this.address = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.address;
  }

  snapshot(): VaultCounts {
    return { ...this.counts };
  }

  failureSnapshot(): VaultCounts {
    return { ...this.failures };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

export function diffCounts(after: VaultCounts, before: VaultCounts): VaultCounts {
  const out: VaultCounts = {};
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] ?? 0);
    if (d !== 0) out[k] = d;
  }
  return out;
}
