// An in-process Vault for reconcile tests: a node:http server on 127.0.0.1
// (port 0) that the operator's real VaultHttp and VaultClient talk to. It keeps
// what a reconcile can change or depend on:
// - tokens from a Kubernetes login (auth/<mount>/login), with accessor, TTL and
//   renewability; lookup-self, renew-self and revoke-self;
// - leases (a database-like engine at database/creds/<role>), each a child of
//   the token that created it: revoking or expiring the token revokes them, as
//   Vault does; sys/leases/renew (capped at the role's max TTL) and revoke;
// - KV v2 at secret/ (versions) and KV v1 at kv/;
// - PKI at pki/ (issue/<role>, revoke), serials and expirations.
// Time is the harness clock's (leases and tokens expire when the test moves
// it). Knobs: `fail` (any status, for N requests), `deny` (403 for a path
// whatever the token), `latencyMs`. Every request is recorded in `calls`.
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface VaultCall {
  method: string;
  path: string;
  status: number;
  /** The accessor of the token the request carried, if Vault knew it. */
  accessor?: string;
}

export interface FakeToken {
  token: string;
  accessor: string;
  role: string;
  ttlS: number;
  renewable: boolean;
  issuedAtMs: number;
  expiresAtMs: number;
  /** The end no renewal can pass (token_max_ttl). */
  maxEndMs: number;
  revoked: boolean;
}

export interface FakeLease {
  id: string;
  path: string;
  /** The token (accessor) whose child the lease is. */
  accessor: string;
  issuedAtMs: number;
  expiresAtMs: number;
  maxEndMs: number;
  renewable: boolean;
  revoked: boolean;
  renewals: number;
  data: Record<string, string>;
}

export interface FakeCertificate {
  serial: string;
  commonName: string;
  expiration: number;
  accessor: string;
  revoked: boolean;
}

export interface DatabaseRole {
  ttlS: number;
  maxTtlS: number;
  renewable: boolean;
}

interface Fault {
  match: (method: string, path: string) => boolean;
  status: number;
  errors: string[];
  times: number;
}

type Matcher = string | RegExp | ((method: string, path: string) => boolean);

function matcher(m: Matcher): (method: string, path: string) => boolean {
  if (typeof m === "function") return m;
  if (typeof m === "string") return (_method, path) => path === m || path.startsWith(`${m}/`);
  return (_method, path) => m.test(path);
}

function parseTtl(v: unknown, dflt: number): number {
  if (v === undefined || v === null || v === "") return dflt;
  if (typeof v === "number") return v;
  const m = /^(\d+)(s|m|h|d)?$/.exec(String(v));
  if (!m) return dflt;
  const n = Number(m[1]);
  return n * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? "s") as "s" | "m" | "h" | "d"];
}

export class FakeVault {
  readonly calls: VaultCall[] = [];
  readonly tokens = new Map<string, FakeToken>();
  readonly leases = new Map<string, FakeLease>();
  readonly certificates = new Map<string, FakeCertificate>();
  /** KV v2 at secret/: path -> versions (1-based, last is current). */
  readonly kv2 = new Map<string, { data: Record<string, unknown>; createdMs: number }[]>();
  /** KV v1 at kv/. */
  readonly kv1 = new Map<string, Record<string, unknown>>();
  readonly databaseRoles = new Map<string, DatabaseRole>();
  /** What a login grants. */
  login = { ttlS: 3600, maxTtlS: 86_400, renewable: true };
  /** PKI role defaults. */
  pki = { ttlS: 3600 };
  latencyMs = 0;
  address = "";
  private readonly faults: Fault[] = [];
  private readonly denied: ((method: string, path: string) => boolean)[] = [];
  private server?: Server;
  private n = 0;
  private readonly now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.now = opts.now ?? Date.now;
  }

  async start(): Promise<string> {
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    this.address = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.address;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  // ---- knobs -------------------------------------------------------------------------------

  /** The next `times` requests matching fail with `status` (Vault's own error body). */
  fail(match: Matcher, status: number, opts: { times?: number; errors?: string[] } = {}): void {
    this.faults.push({
      match: matcher(match),
      status,
      errors: opts.errors ?? [status === 403 ? "permission denied" : `injected ${status}`],
      times: opts.times ?? 1,
    });
  }

  /** Every token gets 403 on matching paths (a policy that does not allow them), until `allow`. */
  deny(match: Matcher): () => void {
    const fn = matcher(match);
    this.denied.push(fn);
    return () => {
      const i = this.denied.indexOf(fn);
      if (i >= 0) this.denied.splice(i, 1);
    };
  }

  /** Revokes a token out of band (an admin, `vault token revoke`): its leases go with it. */
  revokeToken(accessor: string): void {
    const t = [...this.tokens.values()].find((x) => x.accessor === accessor);
    if (t) this.revoke(t);
  }

  /** Tokens alive now (not revoked, not expired). */
  liveTokens(): FakeToken[] {
    return [...this.tokens.values()].filter((t) => this.alive(t));
  }

  /** Leases alive now (not revoked, not expired, their token alive). */
  liveLeases(): FakeLease[] {
    return [...this.leases.values()].filter((l) => this.leaseAlive(l));
  }

  leaseAlive(l: FakeLease | string | undefined): boolean {
    const lease = typeof l === "string" ? this.leases.get(l) : l;
    if (!lease || lease.revoked || lease.expiresAtMs <= this.now()) return false;
    const t = [...this.tokens.values()].find((x) => x.accessor === lease.accessor);
    return t !== undefined && this.alive(t);
  }

  /** Requests counted by method and path (a prefix, or a pattern). */
  count(method: string | undefined, match: Matcher): number {
    const fn = matcher(match);
    return this.calls.filter((c) => (method === undefined || c.method === method) && fn(c.method, c.path))
      .length;
  }

  /** Writes a new KV v2 version at secret/<path>. */
  putKV(path: string, data: Record<string, unknown>): number {
    const versions = this.kv2.get(path) ?? [];
    versions.push({ data: structuredClone(data), createdMs: this.now() });
    this.kv2.set(path, versions);
    return versions.length;
  }

  // ---- the server --------------------------------------------------------------------------

  private alive(t: FakeToken): boolean {
    return !t.revoked && t.expiresAtMs > this.now();
  }

  private revoke(t: FakeToken): void {
    t.revoked = true;
    for (const l of this.leases.values()) if (l.accessor === t.accessor) l.revoked = true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://vault");
    const path = decodeURIComponent(url.pathname.replace(/^\/v1\//, ""));
    const method = url.searchParams.get("list") === "true" ? "LIST" : (req.method ?? "GET");
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      body = {};
    }
    const tokenHeader = String(req.headers["x-vault-token"] ?? "");
    const token = this.tokens.get(tokenHeader);
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const send = (status: number, payload?: unknown) => {
      this.calls.push({ method, path, status, accessor: token?.accessor });
      if (payload === undefined) {
        res.writeHead(status);
        res.end();
        return;
      }
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(payload));
    };
    const fault = this.faults.find((f) => f.times > 0 && f.match(method, path));
    if (fault) {
      fault.times--;
      return send(fault.status, { errors: fault.errors });
    }
    const login = /^auth\/(.+)\/login$/.exec(path);
    if (login && (method === "PUT" || method === "POST")) return send(...this.doLogin(login[1], body));
    if (!token || !this.alive(token)) return send(403, { errors: ["permission denied"] });
    if (this.denied.some((d) => d(method, path))) return send(403, { errors: ["permission denied"] });
    const [status, payload] = this.route(method, path, url.searchParams, body, token);
    send(status, payload);
  }

  private doLogin(mount: string, body: Record<string, unknown>): [number, unknown] {
    if (!body.jwt || !body.role) return [400, { errors: ["missing role or jwt"] }];
    const now = this.now();
    const n = ++this.n;
    const t: FakeToken = {
      token: `hvs.fake${n}${randomBytes(6).toString("hex")}`,
      accessor: `accessor-${n}`,
      role: `${mount}/${String(body.role)}`,
      ttlS: this.login.ttlS,
      renewable: this.login.renewable,
      issuedAtMs: now,
      expiresAtMs: now + this.login.ttlS * 1000,
      maxEndMs: now + this.login.maxTtlS * 1000,
      revoked: false,
    };
    this.tokens.set(t.token, t);
    return [
      200,
      {
        request_id: `req-${n}`,
        auth: {
          client_token: t.token,
          accessor: t.accessor,
          policies: ["default"],
          lease_duration: t.ttlS,
          renewable: t.renewable,
        },
      },
    ];
  }

  private route(
    method: string,
    path: string,
    query: URLSearchParams,
    body: Record<string, unknown>,
    token: FakeToken,
  ): [number, unknown?] {
    const now = this.now();
    const requestId = `req-${++this.n}`;
    if (path === "auth/token/lookup-self" && method === "GET") {
      return [
        200,
        {
          request_id: requestId,
          data: {
            accessor: token.accessor,
            ttl: Math.max(0, Math.floor((token.expiresAtMs - now) / 1000)),
            renewable: token.renewable,
          },
        },
      ];
    }
    if (path === "auth/token/renew-self" && (method === "PUT" || method === "POST")) {
      if (!token.renewable) return [400, { errors: ["token is not renewable"] }];
      const asked = parseTtl(body.increment, token.ttlS);
      const granted = Math.max(0, Math.min(asked, Math.floor((token.maxEndMs - now) / 1000)));
      token.expiresAtMs = now + granted * 1000;
      return [
        200,
        {
          request_id: requestId,
          auth: {
            client_token: token.token,
            accessor: token.accessor,
            lease_duration: granted,
            renewable: token.renewable,
          },
        },
      ];
    }
    if (path === "auth/token/revoke-self" && (method === "PUT" || method === "POST")) {
      this.revoke(token);
      return [204];
    }
    const creds = /^database\/creds\/([^/]+)$/.exec(path);
    if (creds && (method === "GET" || method === "PUT" || method === "POST")) {
      const role = this.databaseRoles.get(creds[1]) ?? { ttlS: 600, maxTtlS: 3600, renewable: true };
      const n = this.n;
      const lease: FakeLease = {
        id: `database/creds/${creds[1]}/${randomBytes(8).toString("hex")}`,
        path,
        accessor: token.accessor,
        issuedAtMs: now,
        expiresAtMs: now + role.ttlS * 1000,
        maxEndMs: now + role.maxTtlS * 1000,
        renewable: role.renewable,
        revoked: false,
        renewals: 0,
        data: { username: `v-${creds[1]}-${n}`, password: `pw-${randomBytes(6).toString("hex")}` },
      };
      this.leases.set(lease.id, lease);
      return [
        200,
        {
          request_id: requestId,
          lease_id: lease.id,
          lease_duration: role.ttlS,
          renewable: role.renewable,
          data: lease.data,
        },
      ];
    }
    if (path === "sys/leases/renew" && (method === "PUT" || method === "POST")) {
      const lease = this.leases.get(String(body.lease_id ?? ""));
      if (!lease || !this.leaseAlive(lease)) return [400, { errors: ["lease not found"] }];
      if (!lease.renewable) return [400, { errors: ["lease is not renewable"] }];
      const asked = parseTtl(body.increment, Math.floor((lease.expiresAtMs - lease.issuedAtMs) / 1000));
      const granted = Math.max(0, Math.min(asked, Math.floor((lease.maxEndMs - now) / 1000)));
      lease.expiresAtMs = now + granted * 1000;
      lease.renewals++;
      return [
        200,
        { request_id: requestId, lease_id: lease.id, lease_duration: granted, renewable: lease.renewable },
      ];
    }
    if (path === "sys/leases/revoke" && (method === "PUT" || method === "POST")) {
      const lease = this.leases.get(String(body.lease_id ?? ""));
      if (lease) lease.revoked = true;
      return [204];
    }
    const kv2 = /^secret\/data\/(.+)$/.exec(path);
    if (kv2 && method === "GET") {
      const versions = this.kv2.get(kv2[1]);
      const v = query.get("version") ? Number(query.get("version")) : (versions?.length ?? 0);
      const version = versions?.[v - 1];
      if (!version) return [404, { errors: [] }];
      return [
        200,
        {
          request_id: requestId,
          lease_id: "",
          renewable: false,
          lease_duration: 0,
          data: {
            data: version.data,
            metadata: {
              created_time: new Date(version.createdMs).toISOString(),
              custom_metadata: null,
              deletion_time: "",
              destroyed: false,
              version: v,
            },
          },
        },
      ];
    }
    const kv1 = /^kv\/(.+)$/.exec(path);
    if (kv1 && method === "GET") {
      const data = this.kv1.get(kv1[1]);
      if (!data) return [404, { errors: [] }];
      return [200, { request_id: requestId, lease_duration: 2_764_800, renewable: false, data }];
    }
    const issue = /^pki\/(?:issuer\/[^/]+\/)?issue\/([^/]+)$/.exec(path);
    if (issue && (method === "PUT" || method === "POST")) {
      const ttl = parseTtl(body.ttl, this.pki.ttlS);
      const bytes = randomBytes(8).toString("hex");
      const serial = bytes.match(/../g)?.join(":") ?? bytes;
      const expiration = Math.floor(now / 1000) + ttl;
      const cn = String(body.common_name ?? "");
      this.certificates.set(serial, {
        serial,
        commonName: cn,
        expiration,
        accessor: token.accessor,
        revoked: false,
      });
      const pem = (what: string, s: string) =>
        `-----BEGIN ${what}-----\n${Buffer.from(s).toString("base64")}\n-----END ${what}-----`;
      const ca = pem("CERTIFICATE", "fake issuing CA");
      return [
        200,
        {
          request_id: requestId,
          data: {
            certificate: pem("CERTIFICATE", `${cn} ${serial}`),
            issuing_ca: ca,
            ca_chain: [ca],
            private_key: pem("RSA PRIVATE KEY", `key of ${serial}`),
            private_key_type: "rsa",
            serial_number: serial,
            expiration,
          },
        },
      ];
    }
    if (path === "pki/revoke" && (method === "PUT" || method === "POST")) {
      const cert = this.certificates.get(String(body.serial_number ?? ""));
      if (!cert)
        return [400, { errors: [`certificate with serial ${String(body.serial_number)} not found`] }];
      cert.revoked = true;
      return [200, { request_id: requestId, data: { revocation_time: Math.floor(now / 1000) } }];
    }
    return [404, { errors: [] }];
  }
}
