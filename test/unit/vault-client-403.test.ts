// How a Vault client meets a 403 (issue 18), against an in-process fake of
// Vault's token store (pure client logic; the real OpenBao cases are in
// test/e2e/credential-lifetime.test.ts):
// - a dead token is replaced by exactly one login however many callers meet
//   it at once, and the token's end is announced to whoever holds leases;
// - a path the role does not allow costs at most one probe login per probe
//   interval, the probe's token is revoked, the old token stays current;
// - a probe that cures the 403 (the role changed) makes the fresh token current.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import {
  type EndedToken,
  type LoginResult,
  VaultClient,
  VaultPermissionError,
} from "../../src/vault/client.ts";
import { VaultHttp } from "../../src/vault/http.ts";

class FakeVault {
  /** token -> the paths it may read */
  readonly tokens = new Map<string, Set<string>>();
  /** what a fresh login grants */
  grants = new Set(["secret/data/ok"]);
  logins = 0;
  revoked: string[] = [];
  private n = 0;
  server?: Server;

  login(): LoginResult {
    this.logins++;
    const token = `tok-${++this.n}`;
    this.tokens.set(token, new Set(this.grants));
    return { token, accessor: `acc-${this.n}`, renewable: true, leaseDurationS: 3600, ttlS: 3600 };
  }

  async start(): Promise<string> {
    const server = createServer((req: IncomingMessage, res) => {
      const token = String(req.headers["x-vault-token"] ?? "");
      const path = (req.url ?? "").replace(/^\/v1\//, "");
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      req.resume();
      req.on("end", () => {
        const paths = this.tokens.get(token);
        if (!paths) return send(403, { errors: ["permission denied"] });
        if (path === "auth/token/lookup-self") return send(200, { data: { ttl: 3600 } });
        if (path === "auth/token/revoke-self") {
          this.tokens.delete(token);
          this.revoked.push(token);
          return send(204, {});
        }
        if (!paths.has(path)) return send(403, { errors: ["permission denied"] });
        send(200, { data: { data: { via: token } } });
      });
    });
    this.server = server;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }
}

async function setup(t: import("node:test").TestContext) {
  const vault = new FakeVault();
  const address = await vault.start();
  t.after(() => vault.server?.close());
  const client = new VaultClient(new VaultHttp({ address }), "k", undefined, vault.login(), async () =>
    vault.login(),
  );
  t.after(() => client.close());
  const ended: EndedToken[] = [];
  client.onTokenEnded = (e) => ended.push(e);
  return { vault, client, ended };
}

test("a dead token: ten callers at once cause one login, and its end is announced", async (t) => {
  const { vault, client, ended } = await setup(t);
  const before = client.id;
  vault.tokens.clear(); // revoked out of band
  const res = await Promise.all(
    Array.from({ length: 10 }, () =>
      client.request<{ data: { data: { via: string } } }>("GET", "secret/data/ok"),
    ),
  );
  assert.equal(vault.logins, 2, "the first login and one replacement");
  assert.deepEqual(new Set(res.map((r) => r.json?.data.data.via)), new Set(["tok-2"]));
  assert.equal(ended.length, 1);
  assert.equal(ended[0].id, before);
  assert.equal(ended[0].why, "revoked");
  assert.ok(ended[0].endsAtMs <= Date.now());
  assert.notEqual(client.id, before);
});

test("a denied path: one probe login per interval, its token revoked, the old token stays", async (t) => {
  const { vault, client, ended } = await setup(t);
  const before = client.id;
  for (let i = 0; i < 5; i++) {
    await assert.rejects(client.request("GET", "secret/data/denied"), (err: unknown) => {
      assert.ok(err instanceof VaultPermissionError);
      assert.equal(err.status, 403);
      assert.match(err.message, /grant the Vault role's policy access to secret\/data\/denied/);
      return true;
    });
  }
  assert.equal(vault.logins, 2, "one probe, not one login per retry");
  assert.deepEqual(vault.revoked, ["tok-2"], "the probe's useless token is revoked");
  assert.equal(vault.tokens.size, 1, "one live token");
  assert.equal(client.id, before, "the token other resources' leases hang on is kept");
  assert.deepEqual(ended, []);
  // Other paths keep working with the same token meanwhile.
  assert.equal(
    (await client.request<{ data: { data: { via: string } } }>("GET", "secret/data/ok")).json?.data.data.via,
    "tok-1",
  );
});

test("a probe that cures the 403 (the role changed) makes the fresh token current", async (t) => {
  const { vault, client, ended } = await setup(t);
  const before = client.id;
  vault.grants = new Set(["secret/data/ok", "secret/data/new"]);
  const res = await client.request<{ data: { data: { via: string } } }>("GET", "secret/data/new");
  assert.equal(res.json?.data.data.via, "tok-2");
  assert.notEqual(client.id, before);
  assert.equal(ended.length, 1);
  assert.equal(ended[0].why, "replaced");
  assert.ok(ended[0].endsAtMs > Date.now(), "the old token lives on until its TTL");
  assert.deepEqual(vault.revoked, ["tok-1"], "no credential hangs on the old token: revoked at once");
});

test("a client that holds credentials keeps its old token alive after a cured probe", async (t) => {
  const { vault, client } = await setup(t);
  client.markHoldsCredentials();
  vault.grants = new Set(["secret/data/ok", "secret/data/new"]);
  await client.request("GET", "secret/data/new");
  assert.deepEqual(vault.revoked, [], "leases hang on it: it runs out on its own, after they moved");
});
